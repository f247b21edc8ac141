// An open-addressing hash map (linear probing, at most half full) for small trivially
// copyable keys and values: no allocation per entry and one probe sequence in one array, for
// the tables that are updated once per flow record. No erase: `retain` rebuilds the table.
#pragma once

#include <cstddef>
#include <type_traits>
#include <utility>
#include <vector>

namespace stockade {

template <class K, class V, class Hash>
class FlatMap {
  static_assert(std::is_trivially_copyable_v<K> && std::is_trivially_copyable_v<V>);

 public:
  FlatMap() { slots_.resize(16); }

  size_t size() const { return size_; }

  V* find(const K& k) {
    for (size_t i = Hash{}(k)&mask(); slots_[i].used; i = (i + 1) & mask())
      if (slots_[i].key == k) return &slots_[i].value;
    return nullptr;
  }
  const V* find(const K& k) const { return const_cast<FlatMap*>(this)->find(k); }

  // Fetches the slot where a lookup of `k` starts (a hint, ahead of the lookup).
  void prefetch(const K& k) const { __builtin_prefetch(&slots_[Hash{}(k)&mask()]); }

  // The value of `k`, inserted as `v` when absent; true when it was inserted.
  std::pair<V*, bool> try_emplace(const K& k, const V& v = V{}) {
    size_t i = Hash{}(k)&mask();
    for (; slots_[i].used; i = (i + 1) & mask())
      if (slots_[i].key == k) return {&slots_[i].value, false};
    if (2 * (size_ + 1) > slots_.size()) {
      grow(slots_.size() * 2);
      for (i = Hash{}(k)&mask(); slots_[i].used;) i = (i + 1) & mask();
    }
    slots_[i] = Slot{k, v, true};
    ++size_;
    return {&slots_[i].value, true};
  }

  V& operator[](const K& k) { return *try_emplace(k).first; }

  // Calls f(key, value) for every entry, in no particular order.
  template <class F>
  void for_each(F&& f) const {
    for (const Slot& s : slots_)
      if (s.used) f(s.key, s.value);
  }

  // Keeps the entries for which keep(key, value) is true. The old table is kept as a spare for
  // the next time: a table purged again and again (a sliding window) is not allocated, and its
  // pages faulted in, every time.
  template <class P>
  void retain(P&& keep) {
    spare_.swap(slots_);
    slots_.assign(spare_.size(), Slot{});
    size_ = 0;
    for (const Slot& s : spare_)
      if (s.used && keep(s.key, s.value)) insert_new(s);
  }

 private:
  struct Slot {
    K key{};
    V value{};
    bool used = false;
  };

  size_t mask() const { return slots_.size() - 1; }

  void grow(size_t capacity) {
    std::vector<Slot> old;
    old.swap(slots_);
    slots_.resize(capacity);
    size_ = 0;
    for (const Slot& s : old)
      if (s.used) insert_new(s);
  }

  void insert_new(const Slot& s) {
    size_t i = Hash{}(s.key) & mask();
    while (slots_[i].used) i = (i + 1) & mask();
    slots_[i] = s;
    ++size_;
  }

  std::vector<Slot> slots_;
  std::vector<Slot> spare_;  // retain()'s: the table before the last purge
  size_t size_ = 0;
};

}  // namespace stockade
