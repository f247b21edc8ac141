// stockade recommend: least-privilege NetworkPolicies from observed traffic, self-checked.
#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <tuple>

#include <unistd.h>

#include "cli/commands.h"
#include "cli/common.h"
#include "cli/observe_flags.h"
#include "engine/diff.h"
#include "recommend/calico_emit.h"
#include "recommend/cilium_emit.h"
#include "recommend/recommend.h"
#include "recommend/selfcheck.h"

namespace stockade::cli {

namespace {

struct RecommendOptionsCli {
  CommonOptions common;
  ObserveFlags observe;
  std::string out_dir;
  uint64_t min_count = 1;
  size_t aggregate_after = 16;
  int widest_prefix = 16;
  bool no_default_deny = false;
  bool replace = false;
  bool guardrails = false;
  std::string guardrail_api = "v1beta1";
  bool isolate_unobserved = false;
  bool include_system = false;
  bool accept_blocked = false;
  std::string min_window = "24h";
  std::string output_kind = "networkpolicy";  // networkpolicy | cilium | calico
};

// Past this many endpoints the summary does not list the removed connections pairwise.
constexpr size_t kRemovedListUpTo = 3000;

struct Exposure {
  uint64_t total = 0;
  std::map<std::string, uint64_t> per_ns;  // by destination namespace
};

// Allowed (source, destination, declared port) triples, a pod's traffic to itself left out.
Exposure exposure(const PolicyEngine& engine, const std::set<std::string>& namespaces) {
  const auto& eps = engine.endpoints();
  auto m = engine.reach({});
  auto self_pairs = [&](const std::vector<uint8_t>& to) {
    uint64_t n = 0;
    for (uint32_t d = 0; d < eps.size(); ++d)
      if (to.empty() || to[d]) n += m->ports(d).size();
    return n;
  };
  Exposure x;
  x.total = m->counts({}, {}).allowed - self_pairs({});
  for (const std::string& ns : namespaces) {
    std::vector<uint8_t> to(eps.size(), 0);
    for (uint32_t d = 0; d < eps.size(); ++d) to[d] = eps[d].ns == ns;
    x.per_ns[ns] = m->counts({}, to).allowed - self_pairs(to);
  }
  return x;
}

std::string human_duration(int64_t ns) {
  if (ns < 60'000'000'000LL) return fmt::format("{:.1f}s", static_cast<double>(ns) / 1e9);
  int64_t m = ns / 60'000'000'000LL;
  if (m < 60) return fmt::format("{}m", m);
  if (m < 24 * 60) return fmt::format("{}h{:02}m", m / 60, m % 60);
  return fmt::format("{}d{}h", m / (24 * 60), (m / 60) % 24);
}

// The learning window and what it saw of each workload.
std::string coverage_text(const Recommendation& rec, int64_t from, int64_t to, bool all) {
  std::string msg = fmt::format(
      "stockade: learning window: {} ({} .. {})\n", human_duration(to > from ? to - from : 0),
      from ? format_rfc3339(from) : std::string("?"), to ? format_rfc3339(to) : std::string("?"));
  size_t unobserved = 0;
  for (const auto& c : rec.coverage) unobserved += !c.observed;
  const bool each = all || rec.coverage.size() <= 50;
  msg += each ? "stockade: coverage per workload:\n"
              : fmt::format("stockade: coverage: {} workloads ({} not observed; -v lists all):\n",
                            rec.coverage.size(), unobserved);
  size_t listed = 0;
  for (const auto& c : rec.coverage) {
    if (!each && (c.observed || listed >= 20)) continue;
    ++listed;
    std::string who = c.ns + "/" + c.name + " (" + c.kind + ")";
    if (c.observed)
      msg += fmt::format("stockade:   {:<44} {:>8} connections, first {}, last {}{}\n", who,
                         c.connections, c.first ? format_rfc3339(c.first) : std::string("-"),
                         c.last ? format_rfc3339(c.last) : std::string("-"),
                         c.connections ? "" : " (no established connection)");
    else
      msg += fmt::format(
          "stockade:   {:<44} not observed: NOT COVERED{}\n", who,
          c.isolated ? " (isolated: --isolate-unobserved)" : " (left out of the default-deny)");
  }
  if (unobserved)
    msg += fmt::format(
        "stockade: not covered: {} workload(s) had no traffic in the window and are not "
        "isolated (--isolate-unobserved isolates them)\n",
        unobserved);
  if (!rec.system_namespaces_skipped.empty()) {
    std::string list;
    for (const std::string& ns : rec.system_namespaces_skipped)
      list += (list.empty() ? "" : ", ") + ns;
    msg +=
        "stockade: system namespaces left alone (--include-system writes policies there): " + list +
        "\n";
  }
  return msg;
}

// Writes every file under a temporary name next to its destination, and renames them into
// place only once all are written: a full disk or an unwritable name leaves --out-dir as it
// was, never half a policy set.
void write_files(const std::vector<std::pair<std::filesystem::path, std::string>>& files) {
  std::vector<std::filesystem::path> staged;
  auto fail = [&](const std::filesystem::path& p, int err) {
    std::error_code ignored;
    for (const auto& t : staged) std::filesystem::remove(t, ignored);
    throw UsageError{"--out-dir: cannot write " + p.string() + ": " + std::strerror(err)};
  };
  for (const auto& [path, text] : files) {
    std::filesystem::path tmp = path;
    tmp += ".stockade-tmp-" + std::to_string(::getpid());
    std::FILE* f = std::fopen(tmp.c_str(), "wbx");
    if (!f) fail(path, errno);
    staged.push_back(tmp);
    errno = 0;
    bool ok = std::fwrite(text.data(), 1, text.size(), f) == text.size();
    ok = std::fflush(f) == 0 && ok;
    int err = errno;
    if (std::fclose(f) != 0 && ok) ok = false, err = errno;
    if (!ok) fail(path, err ? err : EIO);
  }
  // rename(2) would replace a file but not a directory: look for one before renaming any.
  for (const auto& [path, text] : files) {
    std::error_code ec;
    if (std::filesystem::is_directory(std::filesystem::symlink_status(path, ec)))
      fail(path, EISDIR);
  }
  for (size_t i = 0; i < files.size(); ++i) {
    std::error_code ec;
    std::filesystem::rename(staged[i], files[i].first, ec);
    if (ec) {
      // Those already renamed stay (each is whole); the rest are removed.
      std::vector<std::filesystem::path> rest(staged.begin() + long(i), staged.end());
      staged = rest;
      fail(files[i].first, ec.value());
    }
  }
}

int run(const RecommendOptionsCli& o) {
  check_stdin_once({{"-f", &o.common.files}, {"--flows", &o.observe.flows}});
  const bool cilium = o.output_kind == "cilium";
  const bool calico = o.output_kind == "calico";
  if (cilium && o.guardrails)
    throw UsageError{
        "--guardrails with --output-kind cilium: not yet: the guardrails are "
        "AdminNetworkPolicies / ClusterNetworkPolicies, which Cilium does not enforce"};
  Stopwatch clock;
  ClusterState state = load_cluster(o.common);
  auto current = PolicyEngine::compile(state, resolve_endpoints(state, o.common));
  std::unique_ptr<PolicyEngine> without_np;
  if (o.replace && !state.network_policies.empty()) {
    ClusterState base = state;
    base.network_policies.clear();
    without_np = PolicyEngine::compile(base, build_endpoints(base));
  }
  const PolicyEngine& existing = without_np ? *without_np : *current;
  verbose_log(o.common, "cluster: " + clock.lap());
  Observed obs = read_observed(o.common, o.observe, state, existing);
  verbose_log(o.common, "flows: " + clock.lap());
  if (obs.records == 0)
    throw UsageError{"no flow records in the --flows input: nothing to learn from"};
  if (obs.edges.empty())
    throw UsageError{"no flow records inside --since/--until (" +
                     std::to_string(obs.outside_window) + " outside): nothing to learn from"};

  RecommendOptions ro;
  ro.min_count = o.min_count;
  ro.aggregate_after = o.aggregate_after;
  ro.min_prefix_v4 = static_cast<uint8_t>(o.widest_prefix);
  ro.min_prefix_v6 = static_cast<uint8_t>(o.widest_prefix == 0 ? 0 : o.widest_prefix + 32);
  ro.default_deny = !o.no_default_deny;
  ro.replace = o.replace;
  ro.guardrails = o.guardrails;
  ro.guardrail_api = "policy.networking.k8s.io/" + o.guardrail_api;
  ro.window_since = observe_time(o.observe.since, "--since");
  ro.window_until = observe_time(o.observe.until, "--until");
  ro.isolate_unobserved = o.isolate_unobserved;
  ro.include_system = o.include_system;
  ro.own_node_egress = cilium || calico;
  ro.own_node_ingress = calico;
  // The learning window: --since/--until when given, else the first and last record.
  const int64_t window_from = ro.window_since ? ro.window_since : obs.first_ns;
  const int64_t window_to = ro.window_until ? ro.window_until : obs.last_ns;
  const int64_t window_ns = window_to > window_from ? window_to - window_from : 0;
  const int64_t min_window_ns = parse_duration_ns(o.min_window, "--min-window");
  ro.low_confidence = window_ns < min_window_ns;
  Recommendation rec = recommend(state, existing, obs, ro);
  verbose_log(o.common, "synthesis: " + clock.lap());
  if (ro.low_confidence && !o.common.quiet)  // -q: the annotation alone
    std::fprintf(stderr,
                 "stockade: warning: the learning window (%s) is shorter than --min-window %s: "
                 "traffic that happens less often was not seen; every policy is annotated "
                 "stockade.io/confidence: low\n",
                 human_duration(window_ns).c_str(), o.min_window.c_str());

  // Self-check (selfcheck.h): observed edges that became allowances, declared ingress and the
  // unobserved workloads must come out as intended, else it is a bug and nothing is written;
  // observed edges left denied are reported and, unless --accept-blocked, nothing is written.
  // --output-kind cilium: the same recommendation translated (cilium_emit.h), and the check
  // below proves the CiliumNetworkPolicies, through the engine's Cilium semantics.
  // --output-kind calico likewise (calico_emit.h), through the engine's Calico semantics.
  CiliumRecommendation cil;
  if (cilium) {
    cil = to_cilium(rec, state, existing.endpoints());
    if (!cil.error.empty()) throw UsageError{cil.error};
  }
  CalicoRecommendation cal;
  if (calico) {
    cal = to_calico(rec, state.calico_network_sets);
    if (!cal.error.empty()) throw UsageError{cal.error};
  }
  ClusterState after_state = cilium ? with_cilium_recommendation(state, cil, o.replace)
                             : calico
                                 ? with_calico_recommendation(state, cal, o.replace, rec.guardrails)
                                 : with_recommendation(state, rec, o.replace);
  auto after = PolicyEngine::compile(after_state, build_endpoints(after_state));
  SelfCheck check = self_check(*current, *after, obs, rec, ro);
  verbose_log(o.common, "self-check: " + clock.lap());
  if (check.failed()) {
    auto first = !check.observed_denied.empty()   ? check.observed_denied
                 : !check.declared_denied.empty() ? check.declared_denied
                                                  : check.unobserved_isolated;
    print_error(fmt::format(
        "self-check failed (a bug in stockade; please report it): the recommended policies deny "
        "{} observed edge(s), deny {} declared connection(s), isolate {} pod(s) of unobserved "
        "workloads; the first: {}",
        check.observed_denied.size(), check.declared_denied.size(),
        check.unobserved_isolated.size(), first.front()));
    for (const auto* list :
         {&check.observed_denied, &check.declared_denied, &check.unobserved_isolated})
      for (size_t i = 0; i < list->size() && i < 10; ++i)
        if ((*list)[i] != first.front())
          std::fprintf(stderr, "  also: %s\n", display_text((*list)[i]).c_str());
    return kExitInternal;
  }
  if (check.blocked && !o.accept_blocked) {
    std::string msg = fmt::format(
        "stockade: {} observed edge(s) that the policies in force allow would be denied by the "
        "recommended policies (nothing written; --accept-blocked writes them anyway):\n",
        check.blocked);
    for (const std::string& x : check.blocked_examples) msg += "  " + x + "\n";
    if (check.blocked > check.blocked_examples.size())
      msg += fmt::format("  ... and {} more\n", check.blocked - check.blocked_examples.size());
    std::fwrite(msg.data(), 1, msg.size(), stderr);
    return kExitFound;
  }

  // Output: rendered in full, read back with the loader and compared with the policies just
  // proved (the exact bytes that are written), and only then written.
  const bool json = o.common.output == "json";
  std::vector<std::pair<std::filesystem::path, std::string>> files;
  struct Contents {
    std::vector<const NetworkPolicy*> policies;
    std::vector<const ClusterPolicy*> guardrails;
    std::vector<const CiliumPolicy*> cilium;
    std::vector<const CalicoPolicy*> calico;
  };
  std::vector<Contents> contents;
  const std::string ext = json ? ".json" : ".yaml";
  if (!o.out_dir.empty() && cilium) {
    for (const RecommendedCiliumPolicy& p : cil.policies) {
      files.emplace_back(
          std::filesystem::path(o.out_dir) / (p.policy.ns + "." + p.policy.name + ext),
          json ? render_cilium_policy_json(p, 2) + "\n" : render_cilium_policy_yaml(p));
      contents.push_back({{}, {}, {&p.policy}, {}});
    }
  } else if (!o.out_dir.empty() && calico) {
    for (const RecommendedCalicoPolicy& p : cal.policies) {
      files.emplace_back(
          std::filesystem::path(o.out_dir) / (p.policy.ns + "." + p.policy.name + ext),
          json ? render_calico_policy_json(p, 2) + "\n" : render_calico_policy_yaml(p));
      contents.push_back({{}, {}, {}, {&p.policy}});
    }
  } else if (!o.out_dir.empty()) {
    for (const RecommendedPolicy& p : rec.policies) {
      files.emplace_back(
          std::filesystem::path(o.out_dir) / (p.policy.ns + "." + p.policy.name + ext),
          json ? render_policy_json(p, 2) + "\n" : render_policy_yaml(p));
      contents.push_back({{&p.policy}, {}, {}, {}});
    }
  } else if (cilium) {
    files.emplace_back("", json ? render_cilium_json(cil) : render_cilium_yaml(cil));
    auto& c = contents.emplace_back();
    for (const RecommendedCiliumPolicy& p : cil.policies) c.cilium.push_back(&p.policy);
  } else if (calico) {
    // The guardrails stay ClusterNetworkPolicies (AdminNetworkPolicies with --guardrail-api
    // v1alpha1): Calico enforces them itself, in its kube-admin tier.
    files.emplace_back("", json ? render_calico_json(cal, rec.guardrails, rec.low_confidence)
                                : render_calico_yaml(cal, rec.guardrails, rec.low_confidence));
    auto& c = contents.emplace_back();
    for (const RecommendedCalicoPolicy& p : cal.policies) c.calico.push_back(&p.policy);
    for (const ClusterPolicy& p : rec.guardrails) c.guardrails.push_back(&p);
  } else {
    files.emplace_back("", json ? render_json(rec) : render_yaml(rec));
    auto& c = contents.emplace_back();
    for (const RecommendedPolicy& p : rec.policies) c.policies.push_back(&p.policy);
    for (const ClusterPolicy& p : rec.guardrails) c.guardrails.push_back(&p);
  }
  if (!o.out_dir.empty())
    for (const ClusterPolicy& p : rec.guardrails) {
      files.emplace_back(std::filesystem::path(o.out_dir) / ("cluster." + p.name + ext),
                         json ? render_cluster_policy_json(p, 2, rec.low_confidence) + "\n"
                              : render_cluster_policy_yaml(p, rec.low_confidence));
      contents.push_back({{}, {&p}, {}, {}});
    }
  for (size_t i = 0; i < files.size(); ++i) {
    std::string name = files[i].first.empty() ? "<stdout>" : files[i].first.string();
    std::string why = check_written(files[i].second, name, contents[i].policies,
                                    contents[i].guardrails, contents[i].cilium, contents[i].calico);
    if (!why.empty()) {
      print_error("self-check failed: " + name + ": " + why +
                  " (a bug in stockade; please report it)");
      return kExitInternal;
    }
  }
  verbose_log(o.common, "read back: " + clock.lap());
  if (!o.out_dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(o.out_dir, ec);
    if (ec) throw UsageError{"--out-dir: cannot create " + o.out_dir + ": " + ec.message()};
    write_files(files);
  } else {
    std::fwrite(files[0].second.data(), 1, files[0].second.size(), stdout);
  }

  // Summary on stderr.
  if (!o.common.quiet) {
    std::set<std::string> namespaces;
    size_t n_in = 0, n_eg = 0, n_dd = 0;
    for (const RecommendedPolicy& p : rec.policies) {
      namespaces.insert(p.policy.ns);
      if (p.policy.ingress.empty() && p.policy.egress.empty())
        ++n_dd;
      else
        (p.policy.affects_ingress ? n_in : n_eg)++;
    }
    Exposure before = exposure(*current, namespaces);
    Exposure aft = exposure(*after, namespaces);
    // Tightness: allowed pod pairs into the namespaces that received policies, against the
    // distinct observed pod pairs there (both on the destinations' declared ports; pods only:
    // host-network pods are their node, and node traffic is reported apart). The DNS twin
    // (TCP for an observed UDP lookup and the reverse) is required, and counted apart.
    const auto& eps = after->endpoints();
    std::set<std::tuple<uint32_t, uint32_t, Protocol, uint16_t>> observed_pairs, dns_twins;
    auto declares = [&](uint32_t d, Protocol p, uint16_t port) {
      for (const ContainerPort& cp : eps[d].pod.ports)
        if (cp.port == port && cp.protocol == p) return true;
      return false;
    };
    for (size_t i : rec.must_allow) {
      const ObservedEdge& e = obs.edges[i];
      if (e.src.kind != ObservedPeer::Kind::Endpoint ||
          e.dst.kind != ObservedPeer::Kind::Endpoint || e.src.endpoint == e.dst.endpoint ||
          eps[e.src.endpoint].pod.host_network || eps[e.dst.endpoint].pod.host_network ||
          !namespaces.count(eps[e.dst.endpoint].ns))
        continue;
      if (declares(e.dst.endpoint, e.protocol, e.port))
        observed_pairs.insert({e.src.endpoint, e.dst.endpoint, e.protocol, e.port});
      if (is_dns_port(eps[e.dst.endpoint], e.protocol, e.port)) {
        Protocol twin = e.protocol == Protocol::UDP ? Protocol::TCP : Protocol::UDP;
        if (declares(e.dst.endpoint, twin, e.port))
          dns_twins.insert({e.src.endpoint, e.dst.endpoint, twin, e.port});
      }
    }
    for (const auto& p : observed_pairs) dns_twins.erase(p);
    // What the objects declare (kept whether observed or not) is required too, counted apart.
    std::set<std::tuple<uint32_t, uint32_t, Protocol, uint16_t>> declared_pairs;
    for (const DeclaredIngress& d : rec.declared) {
      if (d.from_outside || eps[d.endpoint].pod.host_network ||
          !namespaces.count(eps[d.endpoint].ns) || !declares(d.endpoint, d.protocol, d.port))
        continue;
      auto add = [&](uint32_t s) {
        std::tuple<uint32_t, uint32_t, Protocol, uint16_t> t{s, d.endpoint, d.protocol, d.port};
        if (s != d.endpoint && !eps[s].pod.host_network && !observed_pairs.count(t) &&
            !dns_twins.count(t))
          declared_pairs.insert(t);
      };
      if (d.from_all_pods)
        for (uint32_t s = 0; s < eps.size(); ++s) add(s);
      else
        for (uint32_t s : d.sources) add(s);
    }
    uint64_t allowed_in = 0;
    {
      auto m = after->reach({});
      std::vector<uint8_t> from(eps.size()), to(eps.size());
      uint64_t self = 0;
      for (uint32_t d = 0; d < eps.size(); ++d) {
        from[d] = !eps[d].pod.host_network;
        to[d] = from[d] && namespaces.count(eps[d].ns);
        if (to[d]) self += m->ports(d).size();
      }
      allowed_in = m->counts(from, to).allowed - self;
    }
    // What workload selectors cannot avoid: every pod of an observed (source workload,
    // destination workload, port) may talk to every pod of the other (pods of one workload
    // look alike to a selector). Allowed pairs beyond that closure are true over-allowance.
    uint64_t closure = 0;
    {
      auto unit_of = [&](uint32_t e) {
        return eps[e].ns + "/" +
               (eps[e].workload_name.empty() ? eps[e].name : eps[e].workload_name);
      };
      std::map<std::string, std::vector<uint32_t>> members;
      for (uint32_t e = 0; e < eps.size(); ++e)
        if (!eps[e].pod.host_network) members[unit_of(e)].push_back(e);
      std::set<std::tuple<std::string, std::string, Protocol, uint16_t>> unit_pairs;
      for (const auto* set : {&observed_pairs, &dns_twins, &declared_pairs})
        for (const auto& [s, d, proto, port] : *set)
          unit_pairs.insert({unit_of(s), unit_of(d), proto, port});
      for (const auto& [us, ud, proto, port] : unit_pairs) {
        const auto& srcs = members[us];
        for (uint32_t d : members[ud]) {
          if (!declares(d, proto, port)) continue;
          closure += srcs.size() - (std::find(srcs.begin(), srcs.end(), d) != srcs.end());
        }
      }
    }
    auto fp = [](uint64_t v) { return std::to_string(v); };
    std::string msg;
    msg += fmt::format(
        "stockade: {} {} written ({} ingress, {} egress, {} default-deny) in {} "
        "namespace(s){}\n",
        rec.policies.size(),
        cilium   ? "CiliumNetworkPolicies"
        : calico ? "Calico NetworkPolicies (projectcalico.org/v3)"
                 : "policies",
        n_in, n_eg, n_dd, namespaces.size(), o.out_dir.empty() ? "" : " to " + o.out_dir);
    if (!rec.guardrails.empty())
      msg +=
          fmt::format("stockade: {} cluster guardrail(s) suggested ({})\n", rec.guardrails.size(),
                      o.guardrail_api == "v1alpha1" ? "AdminNetworkPolicy v1alpha1"
                                                    : "ClusterNetworkPolicy " + o.guardrail_api);
    msg += fmt::format(
        "stockade: observed edges: {} established; allowed after: {} of {} (self-check "
        "passed); {} of them needed no rule (a pod's own traffic, its own node, a namespace left "
        "alone, or already decided by existing policies)\n",
        rec.edges_established, rec.must_allow.size(), rec.must_allow.size(),
        rec.edges_already_allowed);
    if (rec.edges_failed_only || rec.edges_below_min_count || rec.edges_unresolved ||
        rec.edges_denied_existing)
      msg += fmt::format(
          "stockade: not allowed: {} edges with failed attempts only, {} below --min-count, {} "
          "with an endpoint outside the objects, {} denied by existing policies\n",
          rec.edges_failed_only, rec.edges_below_min_count, rec.edges_unresolved,
          rec.edges_denied_existing);
    msg += fmt::format("stockade: exposure (allowed endpoint pairs on declared ports): {} -> {}\n",
                       before.total, aft.total);
    for (const std::string& ns : namespaces)
      msg +=
          fmt::format("stockade:   {}: {} -> {}\n", ns, fp(before.per_ns[ns]), fp(aft.per_ns[ns]));
    if (!observed_pairs.empty())
      msg += fmt::format(
          "stockade: tightness: {} allowed pod pairs into those namespaces for {} observed pod "
          "pairs, {} DNS twins and {} declared pairs ({:.2f}x; {:.2f}x of the observed alone)\n",
          allowed_in, observed_pairs.size(), dns_twins.size(), declared_pairs.size(),
          static_cast<double>(allowed_in) /
              static_cast<double>(observed_pairs.size() + dns_twins.size() + declared_pairs.size()),
          static_cast<double>(allowed_in) / static_cast<double>(observed_pairs.size()));
    if (!observed_pairs.empty())
      msg += fmt::format(
          "stockade: of them {} are pods of the observed workload pairs (selectors cannot tell "
          "the pods of one workload apart) and {} beyond\n",
          std::min(closure, allowed_in), allowed_in > closure ? allowed_in - closure : 0);
    msg += coverage_text(rec, window_from, window_to, o.common.verbose > 0);
    if (check.blocked)
      msg += fmt::format(
          "stockade: warning: {} observed edge(s) allowed today are left denied "
          "(--accept-blocked), e.g. {}\n",
          check.blocked, check.blocked_examples.front());
    // The exposure removed compared with the policies in force, pods and outside alike (the
    // same comparison as `stockade diff`; pairwise, so only up to a few thousand pods).
    if (eps.size() <= kRemovedListUpTo) {
      PolicyDiff removed = diff_policies(state, *current, after_state, *after, {});
      uint64_t outside = 0;
      std::vector<const DiffChange*> examples;
      for (const DiffChange& c : removed.changes) {
        if (c.after) continue;
        outside += c.src.starts_with("world/") || c.dst.starts_with("world/");
        // Outside first among the examples: the connections a window sees least.
        if (examples.size() < 5 && (c.src.starts_with("world/") || c.dst.starts_with("world/")))
          examples.push_back(&c);
      }
      for (const DiffChange& c : removed.changes)
        if (!c.after && examples.size() < 5 && !c.src.starts_with("world/") &&
            !c.dst.starts_with("world/"))
          examples.push_back(&c);
      msg += fmt::format(
          "stockade: removed compared with the policies in force: {} connection(s) ({} to or from "
          "outside the cluster); `stockade diff --before <in force> --after <these>` lists "
          "them{}\n",
          removed.newly_denied, outside, examples.empty() ? "" : ", e.g.:");
      for (const DiffChange* c : examples)
        msg += fmt::format("stockade:   {} -> {} {}/{}\n", c->src, c->dst, to_string(c->protocol),
                           c->port);
    }
    msg += fmt::format(
        "stockade: declared connections kept: {} checked ({} declared rule(s): Services exposed "
        "outside, Ingress/Gateway backends, Prometheus scrape targets, the cluster DNS)\n",
        check.declared_checked, rec.declared.size());
    if (check.declared_ports_denied) {
      msg += fmt::format(
          "stockade: warning: {} of {} declared ports, asked by the clients observed in the same "
          "namespace, would be denied (only the observed ports are allowed), e.g.:\n",
          check.declared_ports_denied, check.declared_ports_checked);
      for (size_t i = 0; i < check.declared_ports_examples.size() && i < 5; ++i)
        msg += "stockade:   " + check.declared_ports_examples[i] + "\n";
    }
    for (const std::string& n : rec.notes) msg += "stockade: note: " + display_text(n) + "\n";
    if (cil.node_rules_widened)
      msg += fmt::format(
          "stockade: note: {} Cilium rule(s) allow nodes as the entity remote-node (every other "
          "node), where the NetworkPolicy named some nodes' addresses: Cilium's CIDR rules do not "
          "match nodes\n",
          cil.node_rules_widened);
    if (calico && rec.edges_own_node)
      msg += fmt::format(
          "stockade: note: {} observed edge(s) between a pod and its own node became rules "
          "(Calico's policies decide that traffic): each names the node's address for the whole "
          "workload, so its pods on other nodes may use it too\n",
          rec.edges_own_node);
    std::fflush(stdout);
    std::fwrite(msg.data(), 1, msg.size(), stderr);
  }
  return kExitOk;
}

}  // namespace

Runner register_recommend(CLI::App& app) {
  auto opts = std::make_shared<RecommendOptionsCli>();
  CLI::App* cmd = app.add_subcommand(
      "recommend", "Least-privilege NetworkPolicies from observed traffic, checked by the engine");
  add_common_flags(*cmd, opts->common, {"yaml", "json"}, "yaml");
  opts->common.workload_security = false;  // no posture checks here
  add_observe_flags(*cmd, opts->observe, true);
  cmd->add_option("--out-dir", opts->out_dir, "Write one file per policy into this directory");
  cmd->add_option("--min-count", opts->min_count,
                  "Established connections an edge needs to become an allowance (default 1)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--aggregate-after", opts->aggregate_after,
                  "External addresses per rule before they merge into covering prefixes "
                  "(default 16)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--widest-external-prefix", opts->widest_prefix,
                  "Aggregated external prefixes are never wider than this IPv4 prefix length "
                  "(IPv6: 32 more); 0 allows 0.0.0.0/0 and ::/0 (default 16)")
      ->check(CLI::Range(0, 32));
  cmd->add_flag("--no-default-deny", opts->no_default_deny,
                "Do not add a default-deny policy per namespace");
  cmd->add_flag("--replace", opts->replace,
                "Regenerate: ignore the NetworkPolicies in the input (admin tiers still apply)");
  cmd->add_flag("--guardrails", opts->guardrails,
                "Also suggest cluster guardrails: DNS always allowed, cloud metadata denied, "
                "cross-namespace ingress denied except what was observed");
  cmd->add_flag("--isolate-unobserved", opts->isolate_unobserved,
                "Isolate workloads with no observed traffic too (by default they are left out of "
                "the default-deny and listed as not covered)");
  cmd->add_flag("--include-system", opts->include_system,
                "Write policies in the system namespaces too (kube-system, kube-public, "
                "kube-node-lease, calico-system, calico-apiserver, tigera-operator, "
                "local-path-storage)");
  cmd->add_flag("--accept-blocked", opts->accept_blocked,
                "Write the policies even when they deny observed edges that are allowed today "
                "(below --min-count, outside --since/--until)");
  cmd->add_option("--min-window", opts->min_window,
                  "A learning window shorter than this is a warning, and every policy is "
                  "annotated stockade.io/confidence: low (default 24h)")
      ->default_str("24h");
  cmd->add_option("--output-kind", opts->output_kind,
                  "The kind of policy written: networkpolicy (Kubernetes NetworkPolicy, default), "
                  "cilium (CiliumNetworkPolicy cilium.io/v2, for clusters whose CNI is Cilium), "
                  "calico (NetworkPolicy projectcalico.org/v3, for clusters whose CNI is Calico)")
      ->check(CLI::IsMember({"networkpolicy", "cilium", "calico"}))
      ->default_str("networkpolicy");
  cmd->add_option("--guardrail-api", opts->guardrail_api,
                  "v1beta1 (ClusterNetworkPolicy, default), v1alpha2 (ClusterNetworkPolicy, for "
                  "network-policy-api v0.2) or v1alpha1 (AdminNetworkPolicy)")
      ->check(CLI::IsMember({"v1beta1", "v1alpha2", "v1alpha1"}))
      ->default_str("v1beta1");
  return [opts] { return run(*opts); };
}

}  // namespace stockade::cli
