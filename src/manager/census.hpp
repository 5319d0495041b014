#pragma once
// The scheduler's view of the farm's nodes (issue #17): every node as read, and which determinism classes a
// verifier checks, with which render engines, and when it was last heard from. A render claim asks it whether
// the outputs it would make could be checked, rather than the nodes table: every idle worker long-polls
// claims. The scheduler reads it again after a few seconds, or at once when a node joins, changes what it
// lends or is banned (Scheduler::NodesChanged).
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "domain/model.hpp"

namespace inferix::manager {

struct Census {
  /// What the verifiers (not banned) of one class check.
  struct Verifiers {
    int64_t last_seen_ms = 0;  ///< the latest any of them was heard from
    /// The engines each renders, merged; "" in it: one that did not say (every engine).
    std::map<std::string, int64_t> engines;  ///< engine -> the latest one that renders it was heard from
  };

  int64_t read_ms = 0;                       ///< when it was read (the scheduler's clock)
  std::vector<domain::Node> nodes;           ///< every node, as read
  std::map<std::string, Verifiers> classes;  ///< by determinism class (AllClassesOf of each build and slot)
  int64_t any_verifier_seen_ms = -1;  ///< the latest any verifier (not banned) was heard from; -1: none

  /// The census of `nodes`.
  static Census Of(std::vector<domain::Node> nodes, int64_t read_ms);
  /// True when a verifier (not banned) heard from at `since_ms` or later checks outputs of `det_class` that
  /// render with `engine`: "" for either takes any (a class-less output is checked by any verifier).
  bool Verifies(const std::string& det_class, const std::string& engine, int64_t since_ms) const;
};

}  // namespace inferix::manager
