// Selectors to identity sets. A NetworkPolicy's subjects and its peers without a
// namespaceSelector never leave its namespace: their identity sets are computed over the
// namespace's span of words (local_pod_set) instead of dense bitsets over every identity (tens
// of thousands of policies, each a few words wide); the other selectors (label_bits) are dense.
#include <algorithm>

#include "engine/engine_impl.h"

namespace stockade::engine_internal {

Bits EngineImpl::local_pod_set(const LabelSelector* pod_sel, uint32_t ns) const {
  const auto [first, count] = namespace_words_[ns];
  const size_t lo = size_t{first} * 64, hi = lo + size_t{count} * 64;
  Bits out(size_t{count} * 64);
  std::copy_n(identities_in_namespace_[ns].data() + first, count, out.data());
  if (pod_sel) {
    Bits values(out.size());
    // The ascending list's identities inside the span.
    auto mark = [&](const std::vector<uint32_t>& ids) {
      for (auto it = std::lower_bound(ids.begin(), ids.end(), lo); it != ids.end() && *it < hi;
           ++it)
        values.set(*it - lo);
    };
    for (const SelectorRequirement& r : pod_sel->requirements) {
      std::fill_n(values.data(), values.word_count(), 0);
      if (r.op == SelectorOp::In || r.op == SelectorOp::NotIn) {
        auto kit = pod_index_.value.find(r.key);
        if (kit != pod_index_.value.end())
          for (const std::string& v : r.values) {
            auto vit = kit->second.find(v);
            if (vit != kit->second.end()) mark(vit->second);
          }
      } else {
        auto kit = pod_index_.key.find(r.key);
        if (kit != pod_index_.key.end()) mark(kit->second);
      }
      if (r.op == SelectorOp::In || r.op == SelectorOp::Exists)
        out &= values;
      else
        out.and_not(values);
    }
  }
  const uint64_t* host = host_network_.data() + first;
  for (size_t i = 0; i < count; ++i) out.data()[i] &= ~host[i];
  return out;
}

Bits EngineImpl::label_bits(const LabelSelector& sel, bool namespaces) const {
  const LabelIndex& index = namespaces ? ns_index_ : pod_index_;
  const size_t n = namespaces ? namespaces_.size() : identities_.size();
  Bits out(n, true);
  for (const SelectorRequirement& r : sel.requirements) {
    Bits values(n);
    if (r.op == SelectorOp::In || r.op == SelectorOp::NotIn) {
      auto kit = index.value.find(r.key);
      if (kit != index.value.end())
        for (const std::string& v : r.values) {
          auto vit = kit->second.find(v);
          if (vit != kit->second.end())
            for (uint32_t i : vit->second) values.set(i);
        }
    } else {
      auto kit = index.key.find(r.key);
      if (kit != index.key.end())
        for (uint32_t i : kit->second) values.set(i);
    }
    if (r.op == SelectorOp::In || r.op == SelectorOp::Exists)
      out &= values;
    else
      out.and_not(values);
  }
  return out;
}

const Bits& EngineImpl::pod_selector_bits(const LabelSelector& sel) {
  std::string key = sel.canonical();
  auto it = pod_selector_cache_.find(key);
  if (it != pod_selector_cache_.end()) return it->second;
  return pod_selector_cache_.emplace(std::move(key), label_bits(sel, false)).first->second;
}

const Bits& EngineImpl::namespace_selector_bits(const LabelSelector& sel) {
  std::string key = sel.canonical();
  auto it = ns_selector_cache_.find(key);
  if (it != ns_selector_cache_.end()) return it->second;
  return ns_selector_cache_.emplace(std::move(key), namespace_identities(sel)).first->second;
}

Bits EngineImpl::namespace_identities(const LabelSelector& sel) const {
  Bits ns = label_bits(sel, true);
  Bits ids(identities_.size());
  // Identity by identity: OR-ing one bitset per selected namespace would cost namespaces ×
  // identities for a selector that picks them all.
  ns.for_each([&](size_t i) {
    for (uint32_t id : namespace_identities_[i]) ids.set(id);
  });
  return ids;
}

}  // namespace stockade::engine_internal
