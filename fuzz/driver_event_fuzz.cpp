// Fuzz target: the parser of the event lines the sandboxed Blender driver writes on file descriptor 3.
// Blender runs untrusted scenes, so these lines are untrusted input to the worker and verifier.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "render/driver_events.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view line(reinterpret_cast<const char*>(data), size);
  auto event = inferix::render::ParseDriverEvent(line);
  if (!event && event.error().message.empty()) std::abort();  // a refusal names the problem
  return 0;
}
