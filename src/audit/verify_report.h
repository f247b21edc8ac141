// verify's result as a person or a code-scanning tool reads it: the table (and the one when
// there are no cluster objects to decide with) and SARIF 2.1.0. The JSON is in verify.h.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "audit/verify.h"

namespace stockade::audit {

// One row per group (names escaped for a terminal) and the summary line.
std::string verify_table(const Verification& v, const Observed& obs);

// Without cluster objects: every established edge as the records name it, verdict unknown.
std::string verify_table_without_objects(const Observed& obs);

// The denied rows as SARIF results of the rule observed-flow-denied, located at the deciding
// rule (or the isolating policy) in the input: the log, written by core/sarif.h.
std::string verify_sarif(const Verification& v, const Observed& obs);

}  // namespace stockade::audit
