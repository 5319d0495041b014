#include "verifier/check.hpp"

#include <fmt/format.h>

#include <cstdlib>
#include <optional>

#include "core/crypto.hpp"
#include "image/regions.hpp"

namespace inferix::verifier {
namespace {

std::string OiioFormatOf(const std::string& blender_format) {
  if (blender_format == "OPEN_EXR") return "openexr";
  if (blender_format == "JPEG") return "jpeg";
  return "png";
}

// Frame numbers are padded to the digits of the scene's last frame ("02" or "2"): compared as numbers.
bool SameMetadata(const std::string& key, const std::string& a, const std::string& b) {
  if (key == "Frame") {
    char* end_a = nullptr;
    char* end_b = nullptr;
    const long na = std::strtol(a.c_str(), &end_a, 10);
    const long nb = std::strtol(b.c_str(), &end_b, 10);
    if (!a.empty() && !b.empty() && *end_a == '\0' && *end_b == '\0') return na == nb;
  }
  return a == b;
}

// The re-render has the task's exact settings (but for its size): the output must have its channels, bit
// depth and the render facts Blender records in the file (frame, scene, camera, samples) where both carry
// them. A rejection's reason, or nothing.
std::optional<std::string> DiffersFromRerender(const image::Image& output, const image::Image& ref) {
  if (ref.info.channels != output.info.channels || ref.info.pixel_type != output.info.pixel_type) {
    return fmt::format("layer 1: output has {} channels of {}, the task renders {} of {}",
                       output.info.channels, output.info.pixel_type, ref.info.channels, ref.info.pixel_type);
  }
  for (const auto& [key, want] : ref.info.render_metadata) {
    auto got = output.info.render_metadata.find(key);
    if (got != output.info.render_metadata.end() && !SameMetadata(key, got->second, want)) {
      return fmt::format("layer 1: the output's metadata says {} \"{}\", the task renders \"{}\"", key,
                         got->second, want);
    }
  }
  return std::nullopt;
}

// Renders `cmd` (its frame, format and output folder filled in here) with the task's settings into a folder
// of its own and reads the image back; an error says what failed ("re-render failed: ...", "cannot read
// ...").
Result<image::Image> Rerender(const CheckRequest& req, render::BlenderProcess& blender,
                              render::RenderCommand cmd, const std::string& name) {
  const auto dir = req.work_dir / name;
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  std::filesystem::create_directories(dir, ec);
  cmd.frames = {req.frame};
  cmd.output_dir = dir.string();
  cmd.format = req.format;
  cmd.persistent_data = true;
  cmd.denoise = req.denoise;
  std::string saved;
  auto rendered = blender.Render(
      cmd,
      [&](const render::DriverEvent& ev) {
        if (ev.kind == render::DriverEvent::Kind::kFrameSaved) saved = ev.path;
      },
      [] { return false; });
  if (!rendered || saved.empty()) {
    return MakeError(Errc::kInternal,
                     "re-render failed: " + (rendered ? std::string("no image") : rendered.error().message));
  }
  auto ref = image::ReadImage(saved);
  std::filesystem::remove_all(dir, ec);
  if (!ref) return MakeError(Errc::kInternal, "cannot read the re-render: " + ref.error().message);
  return ref;
}

// The whole frame rendered 1/reduce_factor as wide and high with fewer samples, against the output shrunk the
// same way (image::CompareReduced).
CheckResult CheckReduced(const CheckRequest& req, render::BlenderProcess& blender, const image::Image& output,
                         std::string detail, CheckResult result) {
  auto finish = [&](const char* verdict, const std::string& why) {
    result.verdict = verdict;
    result.detail = why;
    return result;
  };
  const auto& scene = blender.scene();
  const int k = std::max(1, req.reduce_factor);
  render::RenderCommand cmd;
  cmd.reduce = render::Reduce{std::max(1, (scene.width + k / 2) / k), std::max(1, (scene.height + k / 2) / k),
                              std::max(1, req.samples_divisor)};
  auto ref = Rerender(req, blender, cmd, "reduced");
  if (!ref) return finish("inconclusive", detail + "; reduced " + ref.error().message);
  if (auto differs = DiffersFromRerender(output, *ref)) return finish("rejected", *differs);
  auto cmp = image::CompareReduced(output, *ref, req.reduced);
  if (!cmp) return finish("inconclusive", detail + "; reduced comparison failed: " + cmp.error().message);
  result.regions.push_back(cmp->worst);
  detail += fmt::format(
      "; reduced whole frame {}x{} (1/{} of the samples, engine {}): {} of {} tiles over {:.3f}, worst "
      "{:.4f} at "
      "[{},{})x[{},{}), mean {:.5f}",
      ref->info.width, ref->info.height, std::max(1, req.samples_divisor), scene.engine, cmp->tiles_over_pass,
      cmp->tiles, req.reduced.tile_pass, cmp->worst_tile, cmp->worst.x0, cmp->worst.x1, cmp->worst.y0,
      cmp->worst.y1, cmp->mean);
  const std::string outcome = cmp->Outcome();
  if (outcome == "fail") return finish("rejected", "layer 2 failed: " + detail);
  if (outcome == "borderline")
    return finish("inconclusive", detail + "; borderline: escalate to the exact whole frame");
  return finish("accepted", detail);
}

}  // namespace

CheckResult CheckFrame(const CheckRequest& req, render::BlenderProcess& blender, Random& rng) {
  CheckResult result{"inconclusive", "", 1, {}};
  auto finish = [&](const char* verdict, const std::string& why) {
    result.verdict = verdict;
    result.detail = why;
    return result;
  };

  // Layer 1: the stored object is what was reported, decodes, and is the image the task asked for.
  auto sha = Sha256File(req.output);
  if (!sha)
    return finish("inconclusive", "layer 1: cannot read the downloaded output: " + sha.error().message);
  if (*sha != req.reported_sha256)
    return finish("rejected", "layer 1: stored object's SHA-256 differs from the report");
  auto img = image::ReadImage(req.output);
  if (!img) {
    if (img.error().code == Errc::kInvalidArgument)
      return finish("rejected", "layer 1: output does not decode: " + img.error().message);
    return finish("inconclusive", "layer 1: verifier could not read the output: " + img.error().message);
  }
  const auto& scene = blender.scene();
  if (img->info.format != OiioFormatOf(req.format)) {
    return finish("rejected",
                  fmt::format("layer 1: format is {}, the task asked for {}", img->info.format, req.format));
  }
  if (img->info.width != scene.width || img->info.height != scene.height) {
    return finish("rejected", fmt::format("layer 1: size is {}x{}, the scene renders {}x{}", img->info.width,
                                          img->info.height, scene.width, scene.height));
  }
  if (image::HasNonFinite(*img)) return finish("rejected", "layer 1: output holds NaN or infinite values");
  std::string detail = "layer 1 passed";
  // A blank or constant frame may be right (a fade to black): layer 2 decides, never layer 1.
  const bool constant = image::IsConstant(*img);
  if (constant) detail += " (constant frame: checked by re-render)";

  // A constant frame always gets layer 2, even from a trusted worker.
  if (!req.layer2 && !constant)
    return finish("accepted", detail + "; layer 2 not drawn (spot check of a trusted worker)");

  // Layer 2. Cycles samples each pixel on its own, so a few small regions re-rendered on the full canvas
  // equal the frame there and cost a fraction of it. Eevee and Workbench render a region at the cost of the
  // whole frame, and a denoiser looks at the whole frame: those get a reduced whole-frame render, or, drawn
  // now with the policy's chance (and always once a check was inconclusive), the whole frame exactly.
  result.layers = 2;
  const bool regions_cost_a_frame =
      (!scene.engine.empty() && scene.engine != "CYCLES") || (req.denoise && !scene.denoisers.empty());
  if (regions_cost_a_frame && !req.force_regions && !req.whole_frame) {
    // Workbench renders in about its fixed cost per render: a reduced render is no cheaper than the frame
    // (bench/RESULTS.md), so its frames are always checked exactly.
    const bool exact = req.escalated || scene.engine == "BLENDER_WORKBENCH" || rng.Unit() < req.exact_rate;
    if (!exact) return CheckReduced(req, blender, *img, detail, result);
    detail += "; exact whole frame (" + std::string(req.escalated ? "escalated" : "drawn") + ", engine " +
              scene.engine + ")";
  }
  // Regions drawn now, after the upload, so the worker could not know them.
  const bool jpeg = req.format == "JPEG";
  const int margin = jpeg ? std::max(16, req.margin) : req.margin;
  const int size = jpeg ? std::max(64, req.region_size) : req.region_size;
  const int align = jpeg ? 16 : 1;
  std::vector<image::Rect> regions;
  if (!req.whole_frame && !(regions_cost_a_frame && !req.force_regions)) {
    regions = image::DrawRegions(scene.width, scene.height, req.regions, size, margin, align, rng);
    for (const auto& r : image::DrawDetailedRegions(*img, req.detail_regions, size, margin, align, rng))
      regions.push_back(r);
  }
  const bool whole_frame = regions.empty();
  if (whole_frame) {
    // Asked for, or too small for a region with its margin: the whole frame is rendered and compared.
    regions.push_back(image::Rect{0, 0, scene.width, scene.height});
  }
  std::string borderline;
  for (size_t i = 0; i < regions.size(); ++i) {
    const auto& r = regions[i];
    render::RenderCommand cmd;
    auto b = image::ToBlenderBorder(r, scene.width, scene.height);
    if (!whole_frame) cmd.border = render::Border{b.min_x, b.max_x, b.min_y, b.max_y};
    // One thread for a region: it is too small to share out, and idle threads spinning would take CPU from
    // renders on the same machine. The thread count does not change the pixels (DESIGN.md section 5).
    cmd.threads = whole_frame ? 0 : 1;
    auto ref = Rerender(req, blender, cmd, "region-" + std::to_string(i));
    if (!ref) return finish("inconclusive", detail + "; region " + ref.error().message);
    if (i == 0) {
      if (auto differs = DiffersFromRerender(*img, *ref)) return finish("rejected", *differs);
    }
    auto interior = whole_frame ? r : image::Inset(r, margin);
    result.regions.push_back(interior);
    auto cmp = image::CompareRegion(*img, *ref, interior, image::Tolerance{});
    if (!cmp) return finish("inconclusive", detail + "; region comparison failed: " + cmp.error().message);
    detail +=
        fmt::format("; region {} [{},{})x[{},{}){}: {} of {} px off, max diff {:.5f}", i + 1, interior.x0,
                    interior.x1, interior.y0, interior.y1,
                    i >= static_cast<size_t>(std::max(req.regions, 0)) && !whole_frame ? " (detail)" : "",
                    cmp->pixels_off, cmp->pixels, cmp->max_diff);
    if (cmp->pass) continue;
    if (cmp->max_diff > image::Tolerance{}.hard_fail) return finish("rejected", "layer 2 failed: " + detail);
    // Small differences on more pixels than rounding explains: not proof of a wrong frame, so never a
    // rejection by itself; the manager escalates (more regions, then a second worker's render).
    borderline = fmt::format("region {}", i + 1);
  }
  if (!borderline.empty())
    return finish("inconclusive", detail + "; borderline difference in " + borderline + ": escalate");
  return finish("accepted", detail);
}

}  // namespace inferix::verifier
