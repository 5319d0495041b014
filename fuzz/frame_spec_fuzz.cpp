// Fuzz target: the frame SPEC parser ("1-100", "1-99x2", "1,5,9-12"), which reads what users type.
// Invariants checked: a parsed SPEC is non-empty, sorted, without duplicates, within the frame limit, and
// parsing the canonical list of its frames (where it fits a SPEC's 4096 characters) gives the same frames.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "domain/frame_spec.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view spec(reinterpret_cast<const char*>(data), size);
  auto frames = inferix::domain::ParseFrameSpec(spec, 1000);
  if (!frames) {
    if (frames.error().message.empty()) std::abort();  // every refusal says why
    return 0;
  }
  if (frames->empty() || frames->size() > 1000) std::abort();
  std::string canonical;
  for (size_t i = 0; i < frames->size(); ++i) {
    if (i > 0 && (*frames)[i] <= (*frames)[i - 1]) std::abort();
    canonical += (i > 0 ? "," : "") + std::to_string((*frames)[i]);
  }
  if (canonical.size() > 4096) return 0;  // a SPEC is at most 4096 characters; the list may be longer
  auto again = inferix::domain::ParseFrameSpec(canonical, 1000);
  if (!again || *again != *frames) std::abort();
  return 0;
}
