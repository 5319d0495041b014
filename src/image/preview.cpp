#include "image/preview.hpp"

#include "image/codec.hpp"

namespace inferix::image {

Result<void> WriteDisplayPng(const std::filesystem::path& input, const std::filesystem::path& output,
                             int max_size) {
  auto codec = LoadCodec();
  if (!codec) return codec.error();
  return (*codec)->write_display_png(input, output, max_size);
}

}  // namespace inferix::image
