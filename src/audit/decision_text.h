// How the engine decided one side of a connection, as text and JSON (explain, verify).
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include <optional>

#include "engine/engine.h"
#include "engine/peers.h"

namespace stockade::audit {

std::string tier_id(DecisionTier t);
std::string ref_text(const PolicyRef& r, int line = 0);
nlohmann::json ref_json(const PolicyRef& r);
// One sentence saying how a side was decided; `who` names the endpoint, `direction` is
// "ingress" or "egress".
std::string reason(const Decision& d, const std::string& who, const char* direction);
nlohmann::json side_json(const Decision& d, const std::string& who, const char* direction);

// Where a decision points in the input: the deciding rule, else the first isolating policy.
std::optional<SourceRef> decision_location(const Decision& d);
// A few words: "networkpolicy NetworkPolicy shop/db-ingress (file:12)", "own node", ...
std::string short_reason(const Decision& d);

// `stockade explain`: the verdict of one connection and how each side was decided, as text
// (escaped for a terminal) and as the JSON object.
std::string explanation_text(const ExplainedConnection& x);
nlohmann::json explanation_json(const ExplainedConnection& x);

}  // namespace stockade::audit
