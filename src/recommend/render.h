// The recommended policies as text: YAML documents with evidence comments, or JSON.
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "recommend/recommendation.h"

namespace stockade {

// Output: YAML documents (with evidence comments) or one JSON List; one object per policy.
std::string render_policy_yaml(const RecommendedPolicy& p);
std::string render_policy_json(const RecommendedPolicy& p, int indent);
// The same YAML through the JSON object model (slower; tests compare the two).
std::string render_policy_yaml_via_tree(const RecommendedPolicy& p);
// `low_confidence`: annotated stockade.io/confidence: low (a short learning window).
std::string render_cluster_policy_yaml(const ClusterPolicy& p, bool low_confidence = false);
std::string render_cluster_policy_json(const ClusterPolicy& p, int indent,
                                       bool low_confidence = false);
std::string render_yaml(const Recommendation& r);
std::string render_json(const Recommendation& r);

// The YAML writer and the evidence text, for the other output kinds' emitters
// (cilium_emit.cc, calico_emit.cc): one way to write a scalar, a key and a comment.
namespace emit {
// A YAML document from an object tree; a "#" member of an array element is written as a
// comment line above it (escaped: one line whatever it holds).
std::string yaml_document(const nlohmann::ordered_json& doc);
nlohmann::ordered_json selector(const LabelSelector& s);  // matchLabels / matchExpressions
std::string evidence(const PeerEvidence& e, const std::vector<std::string>* names);
}  // namespace emit

}  // namespace stockade
