// What `stockade recommend` is told (its flags; the server or the console asking for a
// recommendation would give the same), described once (core/settings.h) and turned into the
// synthesis' RecommendOptions. The learning window (--since/--until) and the flows are the
// caller's.
#pragma once

#include <string>
#include <vector>

#include "core/settings.h"
#include "recommend/l7.h"
#include "recommend/recommendation.h"

namespace stockade {

struct RecommendSettings {
  // --min-count, --aggregate-after, --replace, --guardrails, --isolate-unobserved,
  // --include-system: the options themselves.
  RecommendOptions options;
  std::string out_dir;     // one file per policy into this directory (else one text)
  int widest_prefix = 16;  // IPv4 prefix length external prefixes never go wider than
  bool no_default_deny = false;
  std::string guardrail_api = "v1beta1";  // v1beta1, v1alpha2 (ClusterNetworkPolicy), v1alpha1
  bool accept_blocked = false;     // written even when observed edges allowed today are denied
  std::string min_window = "24h";  // a shorter learning window: confidence low
  std::string output_kind = "networkpolicy";  // networkpolicy | cilium | calico
  std::string l7;                             // "", cilium or istio
};

// The synthesis' options from the settings, but the learning window: the widest external
// prefix for IPv6 is 32 bits longer than IPv4's (0 stays 0: every address), the guardrails'
// API version in full.
RecommendOptions recommend_options(const RecommendSettings& s);

// --l7's options: the kind (cilium, istio) and --include-system.
L7Options l7_options(const RecommendSettings& s);

// Each setting as `stockade recommend` takes it, in the order its --help lists them.
std::vector<Setting> settings(RecommendSettings& s);

}  // namespace stockade
