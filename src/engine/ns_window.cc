// A NetworkPolicy's subjects and its peers without a namespaceSelector never leave its
// namespace: their identity sets are computed over the namespace's span of words instead of
// dense bitsets over every identity (tens of thousands of policies, each a few words wide).
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

}  // namespace stockade::engine_internal
