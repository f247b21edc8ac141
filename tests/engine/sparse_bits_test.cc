// SparseBits built from one window of words (a namespace's span of identities) against the
// same set built from a dense bitset: the compiler uses the first for NetworkPolicy peers and
// subjects of one namespace, and rows are cached and compared by content, so both must store
// the same words (including when the set is stored as its complement).
#include <gtest/gtest.h>

#include <random>

#include "engine/engine_impl.h"

namespace stockade::engine_internal {
namespace {

TEST(SparseBitsWindow, StoresWhatTheDenseConstructionStores) {
  std::mt19937_64 rng(24);
  int inverted = 0, plain = 0;
  for (int round = 0; round < 4000; ++round) {
    const size_t size = rng() % 700;  // sizes that end inside a word and on a word
    const size_t words = (size + 63) / 64;
    // Half the windows are the whole set (where a mostly full set is stored inverted).
    const bool whole = rng() % 2 == 0;
    const size_t first = whole || words == 0 ? 0 : rng() % words;
    const size_t count = whole ? words : words ? rng() % (words - first + 1) : 0;
    const size_t lo = first * 64, hi = std::min(size, (first + count) * 64);
    Bits dense(size);
    if (rng() % 3 == 0) {
      // Full but for a few bits: most words full, the complement the smaller side.
      for (size_t i = lo; i < hi; ++i) dense.set(i);
      for (int k = static_cast<int>(rng() % 4); k > 0 && hi > lo; --k)
        dense.reset(lo + rng() % (hi - lo));
    } else {
      const unsigned density = static_cast<unsigned>(rng() % 101);
      for (size_t i = lo; i < hi; ++i)
        if (rng() % 100 < density) dense.set(i);
    }
    std::vector<uint64_t> window(dense.data() + first, dense.data() + first + count);
    const SparseBits a(dense);
    const SparseBits b(size, first, window.data(), window.size());
    ASSERT_EQ(a, b) << "size " << size << " first " << first << " count " << count;
    ASSERT_EQ(SparseBits::Hash{}(a), SparseBits::Hash{}(b));
    for (size_t i = 0; i < size; ++i) ASSERT_EQ(dense.test(i), b.test(i)) << i;
    (b.inverted() ? inverted : plain)++;
  }
  // Both storages were exercised.
  EXPECT_GT(inverted, 100);
  EXPECT_GT(plain, 100);
}

}  // namespace
}  // namespace stockade::engine_internal
