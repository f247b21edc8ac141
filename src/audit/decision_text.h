// How the engine decided one side of a connection, as text and JSON (explain, verify).
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "engine/engine.h"

namespace stockade::audit {

std::string tier_id(DecisionTier t);
std::string ref_text(const PolicyRef& r, int line = 0);
nlohmann::json ref_json(const PolicyRef& r);
// One sentence saying how a side was decided; `who` names the endpoint, `direction` is
// "ingress" or "egress".
std::string reason(const Decision& d, const std::string& who, const char* direction);
nlohmann::json side_json(const Decision& d, const std::string& who, const char* direction);

}  // namespace stockade::audit
