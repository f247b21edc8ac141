#include "kube/apply.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>

#include "core/display.h"
#include "input/yaml_tree.h"
#include "kube/kinds.h"
#include "model/objects.h"

namespace stockade::kube {

namespace fs = std::filesystem;
using json = nlohmann::json;
using input::YamlStream;
using input::YamlTreeNode;

namespace {

struct ReadError {
  int line;
  std::string message;
};

// YAML (1.2 core schema for plain scalars) to JSON. Aliases are shared nodes: a visit budget
// bounds alias bombs.
json to_json(const YamlTreeNode* n, size_t& budget) {
  if (budget-- == 0) throw ReadError{n->line, "document too large after expanding YAML aliases"};
  switch (n->kind) {
    case YamlTreeNode::Kind::Null:
      return nullptr;
    case YamlTreeNode::Kind::Map: {
      json o = json::object();
      for (const auto& [k, v] : n->map) {
        if (k->kind != YamlTreeNode::Kind::Scalar)
          throw ReadError{k->line, "mapping keys must be strings"};
        o[k->scalar] = to_json(v, budget);
      }
      return o;
    }
    case YamlTreeNode::Kind::Seq: {
      json a = json::array();
      for (const YamlTreeNode* v : n->seq) a.push_back(to_json(v, budget));
      return a;
    }
    case YamlTreeNode::Kind::Scalar:
      break;
  }
  const std::string& s = n->scalar;
  if (!n->plain) return s;
  if (s.empty() || s == "null" || s == "Null" || s == "NULL" || s == "~") return nullptr;
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  char* end = nullptr;
  errno = 0;
  long long i = std::strtoll(s.c_str(), &end, 10);
  if (end && *end == 0 && errno == 0) return i;
  double d = std::strtod(s.c_str(), &end);
  if (end && *end == 0 && s.find_first_of("0123456789") != std::string::npos) return d;
  return s;
}

void add_document(const YamlTreeNode* doc, const std::string& file, const std::string& default_ns,
                  std::vector<ApplyObject>& out, int depth) {
  if (doc->kind == YamlTreeNode::Kind::Null) return;
  if (doc->kind != YamlTreeNode::Kind::Map)
    throw ReadError{doc->line, "expected a Kubernetes object (a mapping)"};
  size_t budget = 1 << 20;
  json body = to_json(doc, budget);
  std::string kind = body.value("kind", "");
  if (kind == "List") {
    if (depth > 2) throw ReadError{doc->line, "Lists nested too deeply"};
    const YamlTreeNode* items = nullptr;
    for (const auto& [k, v] : doc->map)
      if (k->scalar == "items") items = v;
    if (items && items->kind == YamlTreeNode::Kind::Seq)
      for (const YamlTreeNode* item : items->seq)
        add_document(item, file, default_ns, out, depth + 1);
    return;
  }
  const KindPath* k = applied_kind(kind);
  if (!k)
    throw ReadError{doc->line,
                    "apply accepts NetworkPolicy, AdminNetworkPolicy, "
                    "BaselineAdminNetworkPolicy and ClusterNetworkPolicy only, not " +
                        (kind.empty() ? std::string("an object without kind") : kind)};
  std::string api = body.value("apiVersion", "");
  if (!applied_at(kind, api)) {
    std::string versions;
    for (const KindPath& other : kKinds)
      if ((other.flags & kApplied) && kind == other.kind)
        versions += (versions.empty() ? "" : " or ") + std::string(other.group_version);
    throw ReadError{doc->line,
                    kind + " must have apiVersion " + versions + ", not \"" + api + "\""};
  }
  ApplyObject o;
  o.kind = kind;
  o.api_version = api;
  o.file = file;
  o.line = doc->line;
  const json& meta = body.contains("metadata") ? body["metadata"] : json::object();
  if (!meta.is_object() || !meta.contains("name") || !meta["name"].is_string() ||
      meta["name"].get<std::string>().empty())
    throw ReadError{doc->line, kind + " without metadata.name"};
  o.name = meta["name"].get<std::string>();
  if (!(k->flags & kClusterScoped)) {
    o.ns = meta.contains("namespace") && meta["namespace"].is_string()
               ? meta["namespace"].get<std::string>()
               : default_ns;
    body["metadata"]["namespace"] = o.ns;
  } else if (meta.contains("namespace")) {
    throw ReadError{doc->line, kind + " is cluster-scoped: remove metadata.namespace"};
  }
  // Server-managed metadata never belongs in an apply configuration.
  for (const char* f :
       {"resourceVersion", "uid", "creationTimestamp", "managedFields", "generation", "selfLink"})
    body["metadata"].erase(f);
  body.erase("status");
  o.body = std::move(body);
  out.push_back(std::move(o));
}

void collect_files(const std::string& path, std::vector<std::string>& files) {
  if (fs::is_directory(path)) {
    std::vector<std::string> found;
    for (const auto& e : fs::recursive_directory_iterator(path)) {
      std::string ext = e.path().extension().string();
      if (e.is_regular_file() && (ext == ".yaml" || ext == ".yml" || ext == ".json"))
        found.push_back(e.path().string());
    }
    std::sort(found.begin(), found.end());
    files.insert(files.end(), found.begin(), found.end());
  } else {
    files.push_back(path);
  }
}

std::string short_value(const json& v) {
  std::string s = v.dump(-1, ' ', false, json::error_handler_t::replace);
  if (s.size() > 160) s = s.substr(0, 157) + "...";
  return s;
}

void flatten(const json& v, const std::string& path, std::map<std::string, json>& out) {
  if (v.is_object() && !v.empty()) {
    for (auto it = v.begin(); it != v.end(); ++it) flatten(it.value(), path + "." + it.key(), out);
  } else {
    out[path] = v;
  }
}

json comparable(json o) {
  if (!o.is_object()) return json::object();
  o.erase("status");
  if (o.contains("metadata") && o["metadata"].is_object()) {
    for (const char* f :
         {"resourceVersion", "uid", "creationTimestamp", "managedFields", "generation", "selfLink"})
      o["metadata"].erase(f);
  }
  return o;
}

}  // namespace

std::string ApplyObject::path() const {
  const KindPath* k = applied_kind(kind);
  std::string base = "/apis/" + api_version + "/";
  if (k && !(k->flags & kClusterScoped)) base += "namespaces/" + ns + "/";
  return base + (k ? k->resource : "") + "/" + name;
}

std::string ApplyObject::resource() const {
  const KindPath* k = applied_kind(kind);
  return k ? k->resource : "";
}

void use_served_versions(std::vector<ApplyObject>& objects, const std::set<std::string>& served) {
  for (ApplyObject& o : objects) {
    if (o.kind != "ClusterNetworkPolicy") continue;
    for (const KindPath& k : kKinds)
      if (o.kind == k.kind && read_at(k, served) && o.api_version != k.group_version) {
        o.api_version = k.group_version;
        o.body["apiVersion"] = o.api_version;
      }
  }
}

Result<std::vector<PruneCandidate>> prune_candidates(Client& client,
                                                     const std::vector<ApplyObject>& objects) {
  std::set<std::string> wanted;
  for (const auto& o : objects) wanted.insert(o.path());
  auto served = client.group_versions();
  if (!served) return tl::unexpected(served.error());
  std::vector<PruneCandidate> out;
  for (const KindPath& k : kKinds) {
    if (!(k.flags & kApplied) || !read_at(k, *served)) continue;
    auto list = client.list(list_path(k));
    if (!list) return tl::unexpected(list.error());
    for (const auto& page : list->pages) {
      auto j = json::parse(page, nullptr, false);
      if (!j.is_object()) continue;
      for (const auto& item : j.value("items", json::array())) {
        const auto& meta = item.value("metadata", json::object());
        bool ours = false, others = false;
        for (const auto& mf : meta.value("managedFields", json::array())) {
          bool mine =
              mf.value("manager", "") == kFieldManager && mf.value("operation", "") == "Apply";
          ours = ours || mine;
          others = others || !mine;
        }
        if (!ours || others) continue;
        ApplyObject o;
        o.kind = k.kind;
        o.api_version = k.group_version;
        o.ns = meta.value("namespace", "");
        o.name = meta.value("name", "");
        if (!wanted.count(o.path())) out.push_back({o.path(), o.label()});
      }
    }
  }
  return out;
}

Result<void> delete_object(Client& client, const std::string& path, bool dry_run) {
  auto r = client.request("DELETE", dry_run ? path + "?dryRun=All" : path);
  if (!r) return tl::unexpected(r.error());
  if (r->status != 200 && r->status != 202 && r->status != 404)
    return make_error(error_code_for_status(r->status), Client::describe("DELETE", path, *r));
  return {};
}

std::string ApplyObject::label() const {
  return kind + " " + (ns.empty() ? name : ns + "/" + name);
}

Result<std::vector<ApplyObject>> read_apply_objects(const std::vector<std::string>& paths,
                                                    const std::string& default_namespace) {
  std::vector<std::string> files;
  for (const auto& p : paths) collect_files(p, files);
  std::vector<ApplyObject> out;
  for (const std::string& file : files) {
    auto read = read_text_file(file);
    if (!read) return make_error(file, 0, "cannot read file");
    auto objects = read_apply_text(*read, file == "-" ? "<stdin>" : file, default_namespace);
    if (!objects) return tl::unexpected(objects.error());
    for (ApplyObject& o : *objects) out.push_back(std::move(o));
  }
  return out;
}

Result<std::vector<ApplyObject>> read_apply_text(const std::string& text, const std::string& name,
                                                 const std::string& default_namespace) {
  std::vector<ApplyObject> out;
  auto stream = YamlStream::parse(text, name);
  if (!stream) return tl::unexpected(stream.error());
  try {
    for (const YamlTreeNode* doc : stream->documents())
      add_document(doc, name, default_namespace, out, 0);
  } catch (const ReadError& e) {
    return make_error(name, e.line, e.message);
  }
  return out;
}

std::vector<std::string> object_changes(const json& before, const json& after) {
  std::map<std::string, json> a, b;
  flatten(comparable(before), "", a);
  flatten(comparable(after), "", b);
  std::vector<std::string> out;
  for (const auto& [k, v] : b) {
    auto it = a.find(k);
    if (it == a.end())
      out.push_back("+ " + k + ": " + short_value(v));
    else if (it->second != v)
      out.push_back("~ " + k + ": " + short_value(it->second) + " -> " + short_value(v));
  }
  for (const auto& [k, v] : a)
    if (!b.count(k)) out.push_back("- " + k + ": " + short_value(v));
  return out;
}

Result<ApplyOutcome> server_side_apply(Client& client, const ApplyObject& object, bool dry_run,
                                       bool force_conflicts) {
  ApplyOutcome out;
  auto current = client.request("GET", object.path());
  if (!current) return tl::unexpected(current.error());
  json before = json::object();
  bool exists = current->status == 200;
  if (exists) {
    before = json::parse(current->body, nullptr, false);
    if (auto e = Client::not_json("GET", object.path(), *current))
      return make_error(ErrorCode::Unavailable, *e);
    if (!before.is_object())
      return make_error("GET " + object.path() + ": the answer is not a JSON object");
  } else if (current->status != 404) {
    return make_error(error_code_for_status(current->status),
                      Client::describe("GET", object.path(), *current));
  }
  std::string query = "?fieldManager=" + std::string(kFieldManager);
  if (force_conflicts) query += "&force=true";
  if (dry_run) query += "&dryRun=All";
  auto r = client.request("PATCH", object.path() + query, object.body.dump(),
                          "application/apply-patch+yaml");
  if (!r) return tl::unexpected(r.error());
  if (r->status == 409) {
    out.action = ApplyOutcome::Action::Conflict;
    json status = json::parse(r->body, nullptr, false);
    if (status.is_object() && status.contains("details") && status["details"].contains("causes") &&
        status["details"]["causes"].is_array()) {
      for (const auto& c : status["details"]["causes"]) {
        // "conflict with \"kubectl\" using networking.k8s.io/v1"
        std::string msg = c.value("message", "");
        std::string manager;
        auto q1 = msg.find('"');
        auto q2 = q1 == std::string::npos ? q1 : msg.find('"', q1 + 1);
        if (q2 != std::string::npos) manager = msg.substr(q1 + 1, q2 - q1 - 1);
        out.conflicts.push_back({manager, c.value("field", "")});
      }
    }
    if (out.conflicts.empty()) out.conflicts.push_back({"", "(the server named no field)"});
    return out;
  }
  if (r->status != 200 && r->status != 201)
    return make_error(error_code_for_status(r->status),
                      Client::describe("PATCH", object.path(), *r));
  if (auto e = Client::not_json("PATCH", object.path(), *r))
    return make_error(ErrorCode::Unavailable, *e);
  json after = json::parse(r->body, nullptr, false);
  if (!after.is_object())
    return make_error("PATCH " + object.path() + ": the answer is not a JSON object");
  out.changes = object_changes(before, after);
  out.action = !exists               ? ApplyOutcome::Action::Created
               : out.changes.empty() ? ApplyOutcome::Action::Unchanged
                                     : ApplyOutcome::Action::Configured;
  return out;
}

const char* action_name(ApplyOutcome::Action a) {
  switch (a) {
    case ApplyOutcome::Action::Created:
      return "created";
    case ApplyOutcome::Action::Configured:
      return "configured";
    case ApplyOutcome::Action::Unchanged:
      return "unchanged";
    case ApplyOutcome::Action::Conflict:
      return "conflict";
  }
  return "";
}

std::string outcome_text(const ApplyObject& obj, const ApplyOutcome& out, const char* phase) {
  std::string text =
      display_text(obj.label()) + ": " + action_name(out.action) + " (" + phase + ")\n";
  for (const auto& ch : out.changes) text += "    " + display_text(ch) + "\n";
  for (const auto& cf : out.conflicts)
    text += "    conflict: " + display_text(cf.field) + " is managed by \"" +
            display_text(cf.manager) + "\"\n";
  return text;
}

std::string pruned_text(const PruneCandidate& p, bool dry_run) {
  return display_text(p.label) + ": pruned" + (dry_run ? " (dry run)" : "") + "\n";
}

namespace {

// Deletes the policies to prune (only as a dry run with `dry_run`).
Result<void> prune(Client& c, const std::vector<PruneCandidate>& policies, bool dry_run,
                   const ApplyProgress& progress) {
  for (const PruneCandidate& p : policies) {
    if (auto r = delete_object(c, p.path, dry_run); !r) return r;
    if (progress.pruned) progress.pruned(p, dry_run);
  }
  return {};
}

}  // namespace

Result<ApplyReport> apply_policies(Client& client, std::vector<ApplyObject>& objects,
                                   const ApplyPlan& plan, const ApplyProgress& progress) {
  auto served = client.group_versions();
  if (!served) return tl::unexpected(served.error());
  use_served_versions(objects, *served);
  auto tell = [&](const ApplyObject& o, const ApplyOutcome& out, const char* phase) {
    if (progress.outcome) progress.outcome(o, out, phase);
  };
  ApplyReport report;
  // Dry run of everything first: nothing is applied unless every object would apply.
  for (const ApplyObject& obj : objects) {
    auto out = server_side_apply(client, obj, true, plan.force_conflicts);
    if (!out)
      return make_error(out.error().code, obj.file, obj.line,
                        obj.label() + ": " + out.error().str());
    if (out->action == ApplyOutcome::Action::Conflict) ++report.conflicts;
    tell(obj, *out, "dry run");
    report.outcomes.push_back(std::move(*out));
  }
  if (plan.prune_owned) {
    auto found = prune_candidates(client, objects);
    if (!found) return tl::unexpected(found.error());
    report.pruned = std::move(*found);
    if (auto r = prune(client, report.pruned, true, progress); !r) return tl::unexpected(r.error());
  }
  if (report.conflicts > 0 || plan.dry_run) return report;
  for (size_t i = 0; i < objects.size(); ++i) {
    const ApplyObject& obj = objects[i];
    auto out = server_side_apply(client, obj, false, plan.force_conflicts);
    if (!out) return make_error(out.error().code, obj.label() + ": " + out.error().str());
    tell(obj, *out, "applied");
    const bool conflict = out->action == ApplyOutcome::Action::Conflict;
    report.outcomes[i] = std::move(*out);
    if (conflict) {
      report.stopped = obj.label();
      return report;
    }
  }
  if (auto r = prune(client, report.pruned, false, progress); !r) return tl::unexpected(r.error());
  return report;
}

nlohmann::ordered_json apply_report_json(const std::vector<ApplyObject>& objects,
                                         const ApplyReport& report, bool dry_run) {
  nlohmann::ordered_json out = {{"dryRun", dry_run}, {"objects", json::array()}};
  for (size_t i = 0; i < objects.size() && i < report.outcomes.size(); ++i) {
    const ApplyObject& obj = objects[i];
    const ApplyOutcome& o = report.outcomes[i];
    nlohmann::ordered_json conf = json::array();
    for (const auto& cf : o.conflicts)
      conf.push_back({{"field", cf.field}, {"manager", cf.manager}});
    out["objects"].push_back({{"kind", obj.kind},
                              {"namespace", obj.ns},
                              {"name", obj.name},
                              {"action", action_name(o.action)},
                              {"changes", o.changes},
                              {"conflicts", conf}});
  }
  out["pruned"] = json::array();
  // Pruning happens only when nothing conflicted.
  if (report.conflicts == 0)
    for (const PruneCandidate& p : report.pruned) out["pruned"].push_back(p.label);
  return out;
}

}  // namespace stockade::kube
