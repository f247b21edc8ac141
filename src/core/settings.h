// A setting as its module describes it: the name it is given by (a flag), what it means, the
// values it takes and the struct field it fills. The module that owns a settings struct (the
// server's, the agent's, the detectors' thresholds, recommend's) lists its settings once, beside
// the struct and its defaults; the command line registers that list (src/cli) instead of
// writing each flag's name, help and default a second time, and a configuration file or a
// chart's values would read the same list.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace stockade {

struct Setting {
  // The field the setting fills; its type is the type the value is read as.
  using Field = std::variant<std::string*, std::vector<std::string>*, bool*, int*, uint32_t*,
                             uint64_t*, double*>;
  enum class Bound : uint8_t { None, Positive, Range };

  // "--listen"; "-n,--namespace" with a short name; "!--no-admission-lint" for a switch that
  // clears a field that is true by default. A bool field is a switch (no value).
  std::string_view name;
  std::string_view help;
  Field field;
  bool show_default = false;              // the field's value when listed is shown as the default
  bool required = false;                  // must be given
  std::vector<std::string> choices = {};  // the values allowed (empty: any)
  Bound bound = Bound::None;  // numbers: more than 0, or from `min` to `max` (inclusive)
  double min = 0, max = 0;    // an integer field's bounds are integers
};

}  // namespace stockade
