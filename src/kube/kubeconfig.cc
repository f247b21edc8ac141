#include "kube/kubeconfig.h"

#include <cstdlib>
#include <deque>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>

#include "core/read_text.h"
#include "input/yaml_tree.h"

namespace stockade::kube {

namespace fs = std::filesystem;
using input::YamlStream;
using input::YamlTreeNode;

namespace {

struct ConfigError {
  int line;
  std::string message;
};

const YamlTreeNode* field(const YamlTreeNode* n, std::string_view key) {
  if (!n || n->kind != YamlTreeNode::Kind::Map) return nullptr;
  for (const auto& [k, v] : n->map)
    if (k->kind == YamlTreeNode::Kind::Scalar && k->scalar == key) return v;
  return nullptr;
}

std::string scalar(const YamlTreeNode* n, std::string_view key) {
  const YamlTreeNode* v = field(n, key);
  if (!v || v->kind == YamlTreeNode::Kind::Null) return {};
  if (v->kind != YamlTreeNode::Kind::Scalar)
    throw ConfigError{v->line, std::string(key) + ": expected a string"};
  return v->scalar;
}

bool boolean(const YamlTreeNode* n, std::string_view key) {
  std::string s = scalar(n, key);
  if (s.empty() || s == "false" || s == "False") return false;
  if (s == "true" || s == "True") return true;
  throw ConfigError{field(n, key)->line, std::string(key) + ": expected true or false"};
}

std::vector<const YamlTreeNode*> items(const YamlTreeNode* n, std::string_view key) {
  const YamlTreeNode* v = field(n, key);
  if (!v || v->kind == YamlTreeNode::Kind::Null) return {};
  if (v->kind != YamlTreeNode::Kind::Seq)
    throw ConfigError{v->line, std::string(key) + ": expected a list"};
  return v->seq;
}

// A path in a kubeconfig is relative to the file's directory.
std::string resolve(const std::string& path, const fs::path& dir) {
  if (path.empty() || fs::path(path).is_absolute()) return path;
  return (dir / path).lexically_normal().string();
}

std::string decode_data(const YamlTreeNode* n, std::string_view key) {
  std::string text = scalar(n, key);
  if (text.empty()) return {};
  auto bytes = base64_decode(text);
  if (!bytes) throw ConfigError{field(n, key)->line, std::string(key) + ": not valid base64"};
  return *bytes;
}

// One named entry of clusters/users/contexts, with the file it came from.
struct Entry {
  const YamlTreeNode* body = nullptr;
  fs::path dir;
  std::string file;
};

struct Merged {
  std::deque<YamlStream> streams;  // own the trees (a deque: elements never move)
  std::map<std::string, Entry> clusters, users, contexts;
  std::string current_context;
  std::vector<std::string> files;
};

Result<void> merge_file(Merged& m, const std::string& path) {
  auto read = read_text_file(path);
  if (!read) return make_error(path, 0, "cannot read kubeconfig");
  std::string text = std::move(*read);
  if (text.size() > (size_t{64} << 20)) return make_error(path, 0, "kubeconfig larger than 64 MiB");
  auto parsed = YamlStream::parse(text, path, 64);
  if (!parsed) return tl::unexpected(parsed.error());
  m.streams.push_back(std::move(*parsed));
  const YamlStream& stream = m.streams.back();
  m.files.push_back(path);
  if (stream.documents().empty()) return {};
  const YamlTreeNode* root = stream.documents().front();
  if (root->kind == YamlTreeNode::Kind::Null) return {};
  fs::path dir = fs::absolute(fs::path(path)).parent_path();
  try {
    if (root->kind != YamlTreeNode::Kind::Map)
      throw ConfigError{root->line, "expected a kubeconfig (kind: Config)"};
    std::string kind = scalar(root, "kind");
    if (!kind.empty() && kind != "Config")
      throw ConfigError{root->line, "expected kind: Config, got " + kind};
    auto add = [&](std::string_view list, std::string_view body_key,
                   std::map<std::string, Entry>& into) {
      for (const YamlTreeNode* item : items(root, list)) {
        std::string name = scalar(item, "name");
        if (name.empty()) throw ConfigError{item->line, std::string(list) + ": entry without name"};
        const YamlTreeNode* body = field(item, body_key);
        into.emplace(name, Entry{body, dir, path});  // the first file to set a name wins
      }
    };
    add("clusters", "cluster", m.clusters);
    add("users", "user", m.users);
    add("contexts", "context", m.contexts);
    if (m.current_context.empty()) m.current_context = scalar(root, "current-context");
  } catch (const ConfigError& e) {
    return make_error(path, e.line, e.message);
  }
  return {};
}

Result<RestConfig> in_cluster(const KubeconfigOptions& o) {
  if (!o.service_host || o.service_host->empty() || !o.service_port || o.service_port->empty())
    return make_error(
        "no cluster configuration: pass --kubeconfig, set KUBECONFIG, create ~/.kube/config, "
        "or run in a pod (KUBERNETES_SERVICE_HOST)");
  RestConfig c;
  std::string host = *o.service_host;
  if (host.find(':') != std::string::npos) host = "[" + host + "]";
  c.server = "https://" + host + ":" + *o.service_port;
  c.token_file = o.in_cluster_dir + "/token";
  if (!fs::exists(c.token_file))
    return make_error(c.token_file, 0, "in-cluster configuration: service-account token missing");
  c.ca_file = o.in_cluster_dir + "/ca.crt";
  std::string ns = read_text_file(o.in_cluster_dir + "/namespace").value_or("");
  while (!ns.empty() && (ns.back() == '\n' || ns.back() == ' ')) ns.pop_back();
  c.namespace_ = ns;
  c.origin = "in-cluster service account";
  return c;
}

}  // namespace

std::optional<std::string> read_text_file(const std::string& path) {
  std::stringstream ss;
  if (path == "-") {
    ss << std::cin.rdbuf();
    return ss.str();
  }
  // A directory or a read error is not an empty file.
  auto text = stockade::read_text_file(path);
  if (!text) return std::nullopt;
  return std::move(*text);
}

std::optional<std::string> base64_decode(std::string_view text) {
  auto value = [](char ch) -> int {
    if (ch >= 'A' && ch <= 'Z') return ch - 'A';
    if (ch >= 'a' && ch <= 'z') return ch - 'a' + 26;
    if (ch >= '0' && ch <= '9') return ch - '0' + 52;
    if (ch == '+') return 62;
    if (ch == '/') return 63;
    return -1;
  };
  std::string out;
  out.reserve(text.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  size_t padding = 0;
  for (char ch : text) {
    if (ch == ' ' || ch == '\n' || ch == '\r' || ch == '\t') continue;
    if (ch == '=') {
      ++padding;
      continue;
    }
    if (padding) return std::nullopt;  // data after padding
    int v = value(ch);
    if (v < 0) return std::nullopt;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xFF);
    }
  }
  if (bits >= 6 || padding > 2) return std::nullopt;  // a dangling sextet
  return out;
}

KubeconfigOptions with_environment(KubeconfigOptions o) {
  auto env = [](const char* name) -> std::optional<std::string> {
    const char* v = std::getenv(name);
    return v ? std::optional<std::string>(v) : std::nullopt;
  };
  if (!o.kubeconfig_env) o.kubeconfig_env = env("KUBECONFIG");
  if (!o.home) o.home = env("HOME");
  if (!o.service_host) o.service_host = env("KUBERNETES_SERVICE_HOST");
  if (!o.service_port) o.service_port = env("KUBERNETES_SERVICE_PORT");
  return o;
}

Result<RestConfig> load_config(const KubeconfigOptions& o) {
  Merged m;
  if (!o.kubeconfig.empty()) {
    if (!fs::exists(o.kubeconfig))
      return make_error(ErrorCode::NotFound, o.kubeconfig, 0, "kubeconfig not found");
    if (auto r = merge_file(m, o.kubeconfig); !r) return tl::unexpected(r.error());
  } else if (o.kubeconfig_env && !o.kubeconfig_env->empty()) {
    std::stringstream list(*o.kubeconfig_env);
    std::string path;
    while (std::getline(list, path, ':')) {
      if (path.empty() || !fs::exists(path)) continue;  // as kubectl: missing files are skipped
      if (auto r = merge_file(m, path); !r) return tl::unexpected(r.error());
    }
  } else if (o.home && fs::exists(fs::path(*o.home) / ".kube" / "config")) {
    std::string path = (fs::path(*o.home) / ".kube" / "config").string();
    if (auto r = merge_file(m, path); !r) return tl::unexpected(r.error());
  }
  if (m.files.empty()) {
    if (!o.context.empty())
      return make_error(ErrorCode::NotFound,
                        "--context " + o.context + ": no kubeconfig to find it in");
    return in_cluster(o);
  }
  std::string origin;
  for (const auto& f : m.files) origin += (origin.empty() ? "" : ":") + f;
  std::string ctx_name = o.context.empty() ? m.current_context : o.context;
  if (ctx_name.empty())
    return make_error(ErrorCode::Usage, origin, 0, "no current-context: pass --context NAME");
  auto ctx = m.contexts.find(ctx_name);
  if (ctx == m.contexts.end())
    return make_error(ErrorCode::NotFound, origin, 0, "context \"" + ctx_name + "\" not found");
  RestConfig c;
  c.context = ctx_name;
  c.origin = origin;
  try {
    const YamlTreeNode* cx = ctx->second.body;
    c.cluster = scalar(cx, "cluster");
    std::string user = scalar(cx, "user");
    c.namespace_ = scalar(cx, "namespace");
    auto cl = m.clusters.find(c.cluster);
    if (c.cluster.empty() || cl == m.clusters.end())
      throw ConfigError{cx ? cx->line : 0,
                        "context \"" + ctx_name + "\": cluster \"" + c.cluster + "\" not found"};
    const YamlTreeNode* cb = cl->second.body;
    c.server = scalar(cb, "server");
    if (c.server.empty())
      throw ConfigError{cb ? cb->line : 0, "cluster \"" + c.cluster + "\" has no server"};
    while (c.server.size() > 1 && c.server.back() == '/') c.server.pop_back();
    c.ca_file = resolve(scalar(cb, "certificate-authority"), cl->second.dir);
    c.ca_pem = decode_data(cb, "certificate-authority-data");
    c.insecure_skip_tls_verify = boolean(cb, "insecure-skip-tls-verify");
    c.tls_server_name = scalar(cb, "tls-server-name");
    c.proxy_url = scalar(cb, "proxy-url");
    if (!user.empty()) {
      auto us = m.users.find(user);
      if (us == m.users.end())
        throw ConfigError{cx ? cx->line : 0,
                          "context \"" + ctx_name + "\": user \"" + user + "\" not found"};
      const YamlTreeNode* ub = us->second.body;
      const fs::path& dir = us->second.dir;
      c.token = scalar(ub, "token");
      c.token_file = resolve(scalar(ub, "tokenFile"), dir);
      c.client_cert_file = resolve(scalar(ub, "client-certificate"), dir);
      c.client_key_file = resolve(scalar(ub, "client-key"), dir);
      c.client_cert_pem = decode_data(ub, "client-certificate-data");
      c.client_key_pem = decode_data(ub, "client-key-data");
      c.username = scalar(ub, "username");
      c.password = scalar(ub, "password");
      if (const YamlTreeNode* ex = field(ub, "exec"); ex && ex->kind != YamlTreeNode::Kind::Null) {
        ExecConfig e;
        e.api_version = scalar(ex, "apiVersion");
        e.command = scalar(ex, "command");
        if (e.command.empty()) throw ConfigError{ex->line, "exec: command is required"};
        if (e.api_version != "client.authentication.k8s.io/v1" &&
            e.api_version != "client.authentication.k8s.io/v1beta1")
          throw ConfigError{ex->line,
                            "exec: apiVersion must be client.authentication.k8s.io/v1 "
                            "or v1beta1, got \"" +
                                e.api_version + "\""};
        // kubectl resolves a command with a slash relative to the kubeconfig's directory.
        if (e.command.find('/') != std::string::npos) e.command = resolve(e.command, dir);
        for (const YamlTreeNode* a : items(ex, "args")) {
          if (a->kind != YamlTreeNode::Kind::Scalar)
            throw ConfigError{a->line, "exec: args must be strings"};
          e.args.push_back(a->scalar);
        }
        for (const YamlTreeNode* v : items(ex, "env"))
          e.env.emplace_back(scalar(v, "name"), scalar(v, "value"));
        e.provide_cluster_info = boolean(ex, "provideClusterInfo");
        e.interactive_mode = scalar(ex, "interactiveMode");
        e.install_hint = scalar(ex, "installHint");
        c.exec = std::move(e);
      }
    }
  } catch (const ConfigError& e) {
    return make_error(origin, e.line, e.message);
  }
  return c;
}

}  // namespace stockade::kube
