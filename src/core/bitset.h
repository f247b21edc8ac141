// A dense, runtime-sized bitset of plain uint64_t words: the unit of work of the policy engine
// (a selector compiled over identities, a rule's peers, a row of the reachability matrix).
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace stockade {

class Bits {
 public:
  Bits() = default;
  explicit Bits(size_t n, bool value = false)
      : words_((n + 63) / 64, value ? ~uint64_t{0} : 0), size_(n) {
    if (value) trim();
  }

  size_t size() const { return size_; }
  size_t word_count() const { return words_.size(); }
  const uint64_t* data() const { return words_.data(); }
  uint64_t* data() { return words_.data(); }

  bool test(size_t i) const { return (words_[i >> 6] >> (i & 63)) & 1; }
  void set(size_t i) { words_[i >> 6] |= uint64_t{1} << (i & 63); }
  void reset(size_t i) { words_[i >> 6] &= ~(uint64_t{1} << (i & 63)); }

  Bits& operator|=(const Bits& o) {
    for (size_t i = 0; i < words_.size(); ++i) words_[i] |= o.words_[i];
    return *this;
  }
  Bits& operator&=(const Bits& o) {
    for (size_t i = 0; i < words_.size(); ++i) words_[i] &= o.words_[i];
    return *this;
  }
  Bits& and_not(const Bits& o) {
    for (size_t i = 0; i < words_.size(); ++i) words_[i] &= ~o.words_[i];
    return *this;
  }
  // this |= a & b
  Bits& or_and(const Bits& a, const Bits& b) {
    for (size_t i = 0; i < words_.size(); ++i) words_[i] |= a.words_[i] & b.words_[i];
    return *this;
  }
  void flip() {
    for (uint64_t& w : words_) w = ~w;
    trim();
  }
  bool any() const {
    for (uint64_t w : words_)
      if (w) return true;
    return false;
  }
  size_t count() const {
    size_t n = 0;
    for (uint64_t w : words_) n += static_cast<size_t>(std::popcount(w));
    return n;
  }
  template <class F>
  void for_each(F&& f) const {
    for (size_t wi = 0; wi < words_.size(); ++wi) {
      uint64_t w = words_[wi];
      while (w) {
        f(wi * 64 + static_cast<size_t>(std::countr_zero(w)));
        w &= w - 1;
      }
    }
  }
  friend bool operator==(const Bits&, const Bits&) = default;

 private:
  void trim() {
    if (size_ % 64 && !words_.empty()) words_.back() &= (uint64_t{1} << (size_ % 64)) - 1;
  }
  std::vector<uint64_t> words_;
  size_t size_ = 0;
};

}  // namespace stockade
