#include "verifier/check.hpp"

#include <fmt/format.h>

#include "core/crypto.hpp"
#include "image/regions.hpp"

namespace inferix::verifier {
namespace {

std::string OiioFormatOf(const std::string& blender_format) {
  if (blender_format == "OPEN_EXR") return "openexr";
  if (blender_format == "JPEG") return "jpeg";
  return "png";
}

}  // namespace

CheckResult CheckFrame(const CheckRequest& req, render::BlenderProcess& blender, Random& rng) {
  auto inconclusive = [](const std::string& why) { return CheckResult{"inconclusive", why}; };
  auto reject = [](const std::string& why) { return CheckResult{"rejected", why}; };

  // Layer 1: the stored object is what was reported, decodes, and is the image the task asked for.
  auto sha = Sha256File(req.output);
  if (!sha) return inconclusive("layer 1: cannot read the downloaded output: " + sha.error().message);
  if (*sha != req.reported_sha256) return reject("layer 1: stored object's SHA-256 differs from the report");
  auto img = image::ReadImage(req.output);
  if (!img) {
    if (img.error().code == Errc::kInvalidArgument)
      return reject("layer 1: output does not decode: " + img.error().message);
    return inconclusive("layer 1: verifier could not read the output: " + img.error().message);
  }
  const auto& scene = blender.scene();
  if (img->info.format != OiioFormatOf(req.format)) {
    return reject(fmt::format("layer 1: format is {}, the task asked for {}", img->info.format, req.format));
  }
  if (img->info.width != scene.width || img->info.height != scene.height) {
    return reject(fmt::format("layer 1: size is {}x{}, the scene renders {}x{}", img->info.width,
                              img->info.height, scene.width, scene.height));
  }
  if (image::HasNonFinite(*img)) return reject("layer 1: output holds NaN or infinite values");
  std::string detail = "layer 1 passed";
  if (image::IsConstant(*img)) detail += " (constant frame: checked by re-render)";

  // Layer 2: regions drawn now, after the upload, so the worker could not know them.
  const bool jpeg = req.format == "JPEG";
  const int margin = jpeg ? std::max(16, req.margin) : req.margin;
  const int size = jpeg ? std::max(64, req.region_size) : req.region_size;
  auto regions = image::DrawRegions(scene.width, scene.height, req.regions, size, margin, jpeg ? 16 : 1, rng);
  const bool whole_frame = regions.empty();
  if (whole_frame) {
    // Too small for a region with its margin: the whole frame is cheap to render, and is compared whole.
    regions.push_back(image::Rect{0, 0, scene.width, scene.height});
  }
  std::error_code ec;
  for (size_t i = 0; i < regions.size(); ++i) {
    const auto& r = regions[i];
    const auto dir = req.work_dir / ("region-" + std::to_string(i));
    std::filesystem::remove_all(dir, ec);
    std::filesystem::create_directories(dir, ec);
    render::RenderCommand cmd;
    cmd.frames = {req.frame};
    cmd.output_dir = dir.string();
    cmd.format = req.format;
    auto b = image::ToBlenderBorder(r, scene.width, scene.height);
    if (!whole_frame) cmd.border = render::Border{b.min_x, b.max_x, b.min_y, b.max_y};
    cmd.persistent_data = true;
    // One thread: a region is too small to share out, and idle threads spinning would take CPU from renders
    // on the same machine. The thread count does not change the pixels (DESIGN.md section 5).
    cmd.threads = 1;
    std::string saved;
    auto rendered = blender.Render(
        cmd,
        [&](const render::DriverEvent& ev) {
          if (ev.kind == render::DriverEvent::Kind::kFrameSaved) saved = ev.path;
        },
        [] { return false; });
    if (!rendered || saved.empty()) {
      return inconclusive(detail +
                          "; region re-render failed: " + (rendered ? "no image" : rendered.error().message));
    }
    auto ref = image::ReadImage(saved);
    if (!ref) return inconclusive(detail + "; cannot read the region re-render: " + ref.error().message);
    auto interior = whole_frame ? r : image::Inset(r, margin);
    auto cmp = image::CompareRegion(*img, *ref, interior, image::Tolerance{});
    if (!cmp) return inconclusive(detail + "; region comparison failed: " + cmp.error().message);
    detail += fmt::format("; region {} [{},{})x[{},{}): {} of {} px off, max diff {:.5f}", i + 1, interior.x0,
                          interior.x1, interior.y0, interior.y1, cmp->pixels_off, cmp->pixels, cmp->max_diff);
    std::filesystem::remove_all(dir, ec);
    if (!cmp->pass) return reject("layer 2 failed: " + detail);
  }
  return CheckResult{"accepted", detail};
}

}  // namespace inferix::verifier
