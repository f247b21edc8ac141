// Calico's selector expressions: a recursive-descent parser over the grammar of libcalico-go's
// lib/selector (tokenizer and parser), and their evaluation over a label map.
#include "model/calico.h"

#include <cctype>

namespace stockade {

std::string_view to_string(CalicoAction a) {
  switch (a) {
    case CalicoAction::Allow:
      return "Allow";
    case CalicoAction::Deny:
      return "Deny";
    case CalicoAction::Pass:
      return "Pass";
    case CalicoAction::Log:
      return "Log";
  }
  return "?";
}

std::string_view to_string(CalicoPolicyKind k) {
  switch (k) {
    case CalicoPolicyKind::NetworkPolicy:
      return "NetworkPolicy";
    case CalicoPolicyKind::GlobalNetworkPolicy:
      return "GlobalNetworkPolicy";
    case CalicoPolicyKind::StagedNetworkPolicy:
      return "StagedNetworkPolicy";
    case CalicoPolicyKind::StagedGlobalNetworkPolicy:
      return "StagedGlobalNetworkPolicy";
    case CalicoPolicyKind::StagedKubernetesNetworkPolicy:
      return "StagedKubernetesNetworkPolicy";
  }
  return "?";
}

namespace {

using Node = CalicoSelector::Node;
using Op = CalicoSelector::Op;

// Nesting bound: a selector is user input, and recursion must not overflow the stack.
constexpr int kMaxDepth = 100;
// Calico refuses longer label names (libcalico-go tokenizer's MaxLabelLength).
constexpr size_t kMaxLabelLength = 512;

class Parser {
 public:
  explicit Parser(std::string_view s) : s_(s) {}

  std::unique_ptr<Node> parse(std::string* error) {
    skip();
    if (pos_ == s_.size()) return nullptr;  // blank: all()
    auto n = expr(0);
    if (n) {
      skip();
      if (pos_ != s_.size()) n = fail("unexpected " + near());
    }
    if (!n && error) *error = error_;
    return n;
  }

 private:
  std::string_view s_;
  size_t pos_ = 0;
  std::string error_;
  bool long_label_ = false;

  std::unique_ptr<Node> fail(const std::string& msg) {
    if (error_.empty()) error_ = msg + " at column " + std::to_string(pos_ + 1);
    return nullptr;
  }
  std::string near() const {
    if (pos_ >= s_.size()) return "end of selector";
    // The error is one line: control characters are shown escaped.
    std::string t;
    for (char c : s_.substr(pos_, 12)) {
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
        static const char* hex = "0123456789abcdef";
        t += c == '\n'   ? std::string("\\n")
             : c == '\t' ? std::string("\\t")
                         : std::string("\\x") + hex[(c >> 4) & 0xf] + hex[c & 0xf];
      } else {
        t += c;
      }
    }
    return "\"" + t + "\"";
  }
  // Calico's tokenizer skips spaces and tabs only: any other white space is an error.
  void skip() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t')) ++pos_;
  }
  bool eat(std::string_view tok) {
    skip();
    if (s_.substr(pos_).starts_with(tok)) {
      pos_ += tok.size();
      return true;
    }
    return false;
  }
  // A keyword followed by something that cannot continue an identifier.
  bool eat_word(std::string_view w) {
    skip();
    if (!s_.substr(pos_).starts_with(w)) return false;
    size_t end = pos_ + w.size();
    if (end < s_.size() && is_key_char(s_[end])) return false;
    pos_ = end;
    return true;
  }
  // A two-word operator ("not in", "starts with", "ends with"): as Calico's tokenizer reads
  // it, the words may be separated by any number of spaces or tabs, or by none ("notin").
  bool eat_words(std::string_view first, std::string_view second) {
    skip();
    size_t save = pos_;
    if (s_.substr(pos_).starts_with(first)) {
      pos_ += first.size();
      if (eat_word(second)) return true;
    }
    pos_ = save;
    return false;
  }
  // "all(", "has(", "global(": the parenthesis follows the word directly.
  bool eat_call(std::string_view w) {
    skip();
    if (!s_.substr(pos_).starts_with(w) || pos_ + w.size() >= s_.size() ||
        s_[pos_ + w.size()] != '(')
      return false;
    pos_ += w.size() + 1;
    return true;
  }
  static bool is_key_char(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '/' ||
           c == '-';
  }
  bool key(std::string& out) {
    skip();
    size_t start = pos_;
    while (pos_ < s_.size() && is_key_char(s_[pos_])) ++pos_;
    out = std::string(s_.substr(start, pos_ - start));
    if (out.size() > kMaxLabelLength) {
      pos_ = start;
      long_label_ = true;
      return false;
    }
    return !out.empty();
  }
  bool string_literal(std::string& out) {
    skip();
    if (pos_ >= s_.size() || (s_[pos_] != '"' && s_[pos_] != '\'')) return false;
    char q = s_[pos_];
    size_t end = s_.find(q, pos_ + 1);
    if (end == std::string_view::npos) return false;
    out = std::string(s_.substr(pos_ + 1, end - pos_ - 1));
    pos_ = end + 1;
    return true;
  }

  static std::unique_ptr<Node> binary(Op op, std::unique_ptr<Node> a, std::unique_ptr<Node> b) {
    auto n = std::make_unique<Node>();
    n->op = op;
    n->a = std::move(a);
    n->b = std::move(b);
    return n;
  }

  // expr := and ('||' and)*
  std::unique_ptr<Node> expr(int depth) {
    if (depth > kMaxDepth) return fail("selector nested too deeply");
    auto left = conj(depth);
    while (left && eat("||")) {
      auto right = conj(depth);
      if (!right) return nullptr;
      left = binary(Op::Or, std::move(left), std::move(right));
    }
    return left;
  }
  // and := unary ('&&' unary)*
  std::unique_ptr<Node> conj(int depth) {
    auto left = unary(depth);
    while (left && eat("&&")) {
      auto right = unary(depth);
      if (!right) return nullptr;
      left = binary(Op::And, std::move(left), std::move(right));
    }
    return left;
  }
  std::unique_ptr<Node> unary(int depth) {
    if (depth > kMaxDepth) return fail("selector nested too deeply");
    // Any number of '!' negate the operation that follows (Calico's parser counts them).
    bool negated = false;
    for (skip();
         pos_ < s_.size() && s_[pos_] == '!' && (pos_ + 1 >= s_.size() || s_[pos_ + 1] != '=');
         skip()) {
      ++pos_;
      negated = !negated;
    }
    auto inner = primary(depth);
    if (!inner || !negated) return inner;
    auto n = std::make_unique<Node>();
    n->op = Op::Not;
    n->a = std::move(inner);
    return n;
  }
  std::unique_ptr<Node> primary(int depth) {
    if (eat("(")) {
      auto inner = expr(depth + 1);
      if (!inner) return nullptr;
      if (!eat(")")) return fail("expected ')' but found " + near());
      return inner;
    }
    return term();
  }
  std::unique_ptr<Node> term() {
    auto n = std::make_unique<Node>();
    size_t save = pos_;
    if (eat_call("all")) {
      if (!eat(")")) return fail("expected ')' after all(");
      n->op = Op::All;
      return n;
    }
    pos_ = save;
    if (eat_call("global")) {
      if (!eat(")")) return fail("expected ')' after global(");
      n->op = Op::Global;
      return n;
    }
    pos_ = save;
    if (eat_call("has")) {
      if (!key(n->key))
        return fail(long_label_ ? "label longer than 512 characters"
                                : "expected a label key in has()");
      if (!eat(")")) return fail("expected ')' after has(" + n->key);
      n->op = Op::Has;
      return n;
    }
    pos_ = save;
    if (!key(n->key))
      return fail(long_label_
                      ? "label longer than 512 characters"
                      : "expected a label key, all(), has(), '!' or '(' but found " + near());
    std::string v;
    if (eat("==")) {
      n->op = Op::Eq;
    } else if (eat("!=")) {
      n->op = Op::Ne;
    } else if (eat_word("in")) {
      n->op = Op::In;
      return set(std::move(n));
    } else if (eat_words("not", "in")) {
      n->op = Op::NotIn;
      return set(std::move(n));
    } else if (eat_words("starts", "with")) {
      n->op = Op::StartsWith;
    } else if (eat_words("ends", "with")) {
      n->op = Op::EndsWith;
    } else if (eat_word("contains")) {
      n->op = Op::Contains;
    } else {
      return fail(
          "expected an operator (==, !=, in, not in, starts with, ends with, contains) "
          "after \"" +
          n->key + "\" but found " + near());
    }
    if (!string_literal(v)) return fail("expected a quoted string but found " + near());
    n->values.push_back(std::move(v));
    return n;
  }
  std::unique_ptr<Node> set(std::unique_ptr<Node> n) {
    if (!eat("{")) return fail("expected '{' but found " + near());
    if (eat("}")) return n;
    for (;;) {
      std::string v;
      if (!string_literal(v)) return fail("expected a quoted string but found " + near());
      n->values.push_back(std::move(v));
      if (eat("}")) return n;
      if (!eat(",")) return fail("expected ',' or '}' but found " + near());
      if (eat("}")) return n;  // a trailing comma, as Calico's parser accepts
    }
  }
};

// `all` / `global`: what all() and global() are worth here (see matches_namespace).
bool eval(const Node& n, const Labels& l, bool all, bool global) {
  auto value = [&]() -> const std::string* {
    auto it = l.find(n.key);
    return it == l.end() ? nullptr : &it->second;
  };
  switch (n.op) {
    case Op::All:
      return all;
    case Op::Global:
      return global;
    case Op::Has:
      return value() != nullptr;
    case Op::Eq: {
      const std::string* v = value();
      return v && *v == n.values[0];
    }
    case Op::Ne: {
      const std::string* v = value();
      return !v || *v != n.values[0];
    }
    case Op::In:
    case Op::NotIn: {
      const std::string* v = value();
      bool in = false;
      if (v)
        for (const std::string& x : n.values) in |= x == *v;
      return n.op == Op::In ? in : !in;
    }
    case Op::StartsWith: {
      const std::string* v = value();
      return v && v->starts_with(n.values[0]);
    }
    case Op::EndsWith: {
      const std::string* v = value();
      return v && v->ends_with(n.values[0]);
    }
    case Op::Contains: {
      const std::string* v = value();
      return v && v->find(n.values[0]) != std::string::npos;
    }
    case Op::Not:
      return !eval(*n.a, l, all, global);
    case Op::And:
      return eval(*n.a, l, all, global) && eval(*n.b, l, all, global);
    case Op::Or:
      return eval(*n.a, l, all, global) || eval(*n.b, l, all, global);
  }
  return false;
}

bool mentions_key(const Node* n, std::string_view key) {
  if (!n) return false;
  return n->key == key || mentions_key(n->a.get(), key) || mentions_key(n->b.get(), key);
}

}  // namespace

std::optional<CalicoSelector> CalicoSelector::parse(std::string_view text, std::string* error) {
  CalicoSelector s;
  s.text_ = std::string(text);
  std::string err;
  Parser p(text);
  s.root_ = p.parse(&err);
  if (!s.root_ && !err.empty()) {
    if (error) *error = err;
    return std::nullopt;
  }
  return s;
}

std::unique_ptr<CalicoSelector::Node> CalicoSelector::clone(const Node* n) {
  if (!n) return nullptr;
  auto c = std::make_unique<Node>();
  c->op = n->op;
  c->key = n->key;
  c->values = n->values;
  c->a = clone(n->a.get());
  c->b = clone(n->b.get());
  return c;
}

bool CalicoSelector::matches(const Labels& labels, bool global) const {
  return !root_ || eval(*root_, labels, true, global);
}

// Calico rewrites a rule's namespaceSelector before Felix sees it (libcalico-go
// updateprocessors/rules.go, getEndpointSelector): keys get the pcns. prefix, every all()
// becomes has(projectcalico.org/namespace) and every global() its negation. So all() holds for
// namespaced things only and global() for the others, wherever they appear in the expression.
bool CalicoSelector::matches_namespace(const Labels& ns_labels, bool namespaced) const {
  return !root_ || eval(*root_, ns_labels, namespaced, !namespaced);
}

bool CalicoSelector::mentions(std::string_view key) const {
  return mentions_key(root_.get(), key);
}

}  // namespace stockade
