// Objects a command leaves to the process's end: a command that ends the process right after
// need not take a large model apart object by object (millions of strings and vectors at
// Kubernetes' limits). Held from a global, so leak checkers see them as reachable.
#pragma once

#include <memory>
#include <vector>

namespace stockade {

inline void keep_until_exit(std::shared_ptr<void> p) {
  static auto* kept = new std::vector<std::shared_ptr<void>>();
  kept->push_back(std::move(p));
}

}  // namespace stockade
