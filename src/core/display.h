// Text from the input on its way to a terminal, a table or a spreadsheet. One home for the
// escaping: every table, message and CSV cell goes through these.
#pragma once

#include <string>
#include <string_view>

namespace stockade {

// `s` with what a terminal would act on written as visible escapes: C0 controls and DEL
// (ESC, BEL, CR, LF, TAB... as \e \a \r \n \t or \xNN), C1 controls (\u009b), the
// bidirectional overrides that reorder a line (\u202e), and bytes that are not UTF-8
// (\xNN). A name then cannot move the cursor, recolour or retitle the terminal, start a new
// line or hide part of one. Everything else, printable UTF-8 included, is kept.
std::string display_text(std::string_view s);

// One CSV field per RFC 4180: control characters escaped as display_text does (RFC 4180
// text is printable; a record stays on one line), then quoted (quotes doubled) when it holds
// a comma or a quote. A field a spreadsheet would run as a formula (first character = + - @
// TAB or CR) gets a leading apostrophe, as OWASP advises for CSV injection.
std::string csv_field(std::string_view s);

}  // namespace stockade
