#include "recommend/yaml_writer.h"

#include <cstdio>

#include "model/flow.h"  // format_rfc3339

namespace stockade {
namespace rec {

// Text that goes into a YAML comment: one line whatever it holds. Every byte outside printable
// ASCII (newlines, CR, other control characters, and the bytes of NEL, U+2028 and U+2029,
// which YAML 1.1 readers also take for line breaks) and the backslash are written \xNN.
std::string comment_text(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  static constexpr char kHex[] = "0123456789abcdef";
  for (unsigned char c : s) {
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out += static_cast<char>(c);
    } else {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string evidence_text(const PeerEvidence& e, const std::vector<std::string>* names) {
  return comment_text(evidence_text_raw(e, names));
}

std::string evidence_text_raw(const PeerEvidence& e, const std::vector<std::string>* names) {
  std::string s;
  if (!e.declared.empty() && e.connections == 0) {
    if (e.name != UINT32_MAX && names && e.name < names->size())
      s = (*names)[e.name];
    else if (e.external)
      s = e.cidr.str() + " (outside the cluster)";
    else
      s = "every pod of the cluster";
    return s + ": declared by " + e.declared + "; kept whether observed or not";
  }
  if (e.name != UINT32_MAX && names && e.name < names->size())
    s = (*names)[e.name];
  else if (e.addresses > 1)
    s = e.cidr.str() + " (external, " + std::to_string(e.addresses) + " addresses)";
  else
    s = e.cidr.network.str() + (e.external ? " (external)" : " (node)");
  s += ": " + std::to_string(e.connections) + (e.connections == 1 ? " connection" : " connections");
  if (e.first) s += ", first " + format_rfc3339(e.first);
  if (e.last) s += ", last " + format_rfc3339(e.last);
  if (!e.declared.empty()) s += "; also declared by " + e.declared;
  return s;
}

namespace {

// Strings are written as JSON string literals, which YAML reads as double-quoted scalars, with
// everything outside ASCII escaped: a raw NEL or U+2028 inside double quotes would be folded
// into a space by a YAML 1.1 reader.
// JSON writes a character outside the BMP as a UTF-16 surrogate pair (\ud83d\ude00), which YAML
// refuses: it takes \U0001f600.
std::string yaml_surrogates(std::string s) {
  if (s.find("\\ud") == std::string::npos && s.find("\\uD") == std::string::npos) return s;
  auto hex = [&](size_t at) { return std::stoul(s.substr(at, 4), nullptr, 16); };
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\\' || i + 1 >= s.size()) {
      out += s[i];
      continue;
    }
    if (s[i + 1] == 'u' && i + 11 < s.size() && s[i + 6] == '\\' && s[i + 7] == 'u') {
      unsigned long hi = hex(i + 2), lo = hex(i + 8);
      if (hi >= 0xD800 && hi <= 0xDBFF && lo >= 0xDC00 && lo <= 0xDFFF) {
        char buf[16];
        std::snprintf(buf, sizeof buf, "\\U%08lx", 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00));
        out += buf;
        i += 11;
        continue;
      }
    }
    out += s[i];  // an escape: its next character is copied as is
    out += s[++i];
  }
  return out;
}

}  // namespace

std::string yaml_scalar(const ojson& v) {
  if (v.is_string()) return yaml_surrogates(v.dump(-1, ' ', true, ojson::error_handler_t::replace));
  return v.dump();
}

// A key is written plain only when no YAML reader can take it for anything but that string:
// a letter, then letters, digits, '_' and '-', and not one of YAML 1.1's booleans or nulls
// (go-yaml, which kubectl uses, reads a plain `on:` or `y:` key as true).
bool plain_key(std::string_view k) {
  if (k.empty() || !((k[0] >= 'a' && k[0] <= 'z') || (k[0] >= 'A' && k[0] <= 'Z'))) return false;
  for (char c : k)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
          c == '-'))
      return false;
  static constexpr std::string_view kSpecial[] = {
      "y",    "Y",    "yes",   "Yes",   "YES",   "n",   "N",   "no",  "No",  "NO",  "true",
      "True", "TRUE", "false", "False", "FALSE", "on",  "On",  "ON",  "off", "Off", "OFF",
      "null", "Null", "NULL",  "nan",   "NaN",   "NAN", "inf", "Inf", "INF"};
  for (std::string_view sp : kSpecial)
    if (k == sp) return false;
  return true;
}

namespace {

void yaml_emit(const ojson& v, int indent, std::string& out, bool first_is_item);

}  // namespace

// Writes the members of an object at `indent`; when `item`, the first line starts with "- ".
void yaml_object(const ojson& obj, int indent, std::string& out, bool item) {
  bool first = true;
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    if (it.key() == "#") continue;
    std::string pad(static_cast<size_t>(indent), ' ');
    if (first && item) pad.replace(pad.size() - 2, 2, "- ");
    first = false;
    std::string key = it.key();
    std::string k = plain_key(key) ? key : yaml_scalar(ojson(key));
    const ojson& val = it.value();
    if (val.is_object()) {
      if (val.empty()) {
        out += pad + k + ": {}\n";
      } else {
        out += pad + k + ":\n";
        yaml_object(val, indent + 2, out, false);
      }
    } else if (val.is_array()) {
      if (val.empty()) {
        out += pad + k + ": []\n";
      } else {
        out += pad + k + ":\n";
        for (const ojson& e : val) yaml_emit(e, indent, out, true);
      }
    } else {
      out += pad + k + ": " + yaml_scalar(val) + "\n";
    }
  }
}

namespace {

// An array element at `indent` ("- " at indent, members at indent + 2).
void yaml_emit(const ojson& v, int indent, std::string& out, bool) {
  std::string pad(static_cast<size_t>(indent), ' ');
  if (v.is_object()) {
    if (v.contains("#")) out += pad + "# " + comment_text(v["#"].get<std::string>()) + "\n";
    if (v.empty() || (v.size() == 1 && v.contains("#")))
      out += pad + "- {}\n";
    else
      yaml_object(v, indent + 2, out, true);
  } else if (v.is_array()) {
    out += pad + "- " + v.dump() + "\n";
  } else {
    out += pad + "- " + yaml_scalar(v) + "\n";
  }
}

}  // namespace
}  // namespace rec

namespace emit {

using rec::evidence_text_raw;
using rec::yaml_object;

std::string yaml_document(const nlohmann::ordered_json& doc) {
  std::string out;
  yaml_object(doc, 0, out, false);
  return out;
}

std::string evidence(const PeerEvidence& e, const std::vector<std::string>* names) {
  return evidence_text_raw(e, names);
}

}  // namespace emit

}  // namespace stockade
