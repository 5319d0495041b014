#pragma once
// The verifier's cheap check of engines whose render regions cost a whole frame (Eevee, Workbench): the whole
// frame rendered smaller, with fewer samples, against the worker's frame reduced the same way. Not equal to
// float rounding like a region re-render (a smaller render is a different picture), so it judges tiles of the
// reduced frame with tolerances measured on honest frames (bench/detection_engines.py): it catches whole or
// partial wrong pictures, never a subtler cheat such as fewer samples, which the exact whole-frame check
// catches at the rate the policy draws it.
#include <cstdint>

#include "core/result.hpp"
#include "image/image.hpp"

namespace inferix::image {

/// Where a reduced comparison draws its lines. Values are display-referred (sRGB, 0 to 1), averaged over a
/// tile's pixels and its three colour channels.
struct ReducedTolerance {
  int tile = 8;  ///< tile side, in pixels of the reduced frame
  double tile_pass =
      0.10;  ///< every tile at most this far off: accepted (honest Eevee frames: 0.074 at most)
  double tile_fail = 0.25;  ///< a tile further off: the picture is not the scene's (cheats: 0.12 and up)
};

/// What a reduced comparison found.
struct ReducedResult {
  int tiles = 0;            ///< tiles compared
  int tiles_over_pass = 0;  ///< tiles further off than `tile_pass`
  int tiles_over_fail = 0;  ///< tiles further off than `tile_fail`
  double worst_tile = 0.0;  ///< the largest tile difference
  Rect worst;               ///< that tile, in pixels of the full frame
  double mean = 0.0;        ///< the mean difference over the whole frame
  /// "pass" (every tile within tile_pass), "fail" (some tile beyond tile_fail), else "borderline".
  const char* Outcome() const {
    return tiles_over_fail > 0 ? "fail" : (tiles_over_pass > 0 ? "borderline" : "pass");
  }
};

/// Compares `reduced` (a whole-frame re-render at its own, smaller size) with `frame` shrunk to that size by
/// area averaging, both display-referred. An error when the reduced image is larger than the frame or empty
/// (a caller's fault, never a verdict).
Result<ReducedResult> CompareReduced(const Image& frame, const Image& reduced, const ReducedTolerance& tol);

}  // namespace inferix::image
