#pragma once
// What a node can render with (its Blender builds and their denoisers) and what a job needs of it: which
// build renders a job, and why none can.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "domain/model.hpp"

namespace inferix::domain {

/// One Blender build a node offers, as it described it when it registered.
struct BlenderBuild {
  std::string version;                 ///< what `blender --version` says: "3.4.1", "4.2.3 LTS"
  std::vector<std::string> denoisers;  ///< "OPENIMAGEDENOISE", "OPTIX"
};

/// What a job asks of the Blender that renders it.
struct RenderNeeds {
  int blender_version = 0;             ///< of the scene's file, major * 100 + minor (304); 0: unknown
  std::vector<std::string> denoisers;  ///< denoisers it must have; empty when none (or the user waived them)
};

/// What a job needs: its file's version, and its denoisers unless the user waived them.
RenderNeeds NeedsOf(const Job& job);

/// major * 100 + minor of a version such as "3.4.1" or "4.2 LTS"; 0 when it does not start with one.
int VersionNumber(std::string_view version);
/// "3.4" for 304.
std::string VersionName(int version_number);

/// True when `build` can render a job with these needs: at least as new as the scene's file (a build of
/// unknown version ranks as the newest) and with every needed denoiser.
bool CanRender(const RenderNeeds& needs, const BlenderBuild& build);

/// The build of `builds` that renders a job: the oldest one at least as new as the scene's file (the closest
/// to the artist's own Blender) that has every needed denoiser; among equals the first listed. std::nullopt
/// when none can.
std::optional<size_t> ChooseBuild(const RenderNeeds& needs, const std::vector<BlenderBuild>& builds);

/// Why none of `builds` can render a job, for its user ("needs Blender 4.2 or newer; this worker has 3.4.1").
std::string WhyNoBuild(const RenderNeeds& needs, const std::vector<BlenderBuild>& builds);

/// A denoiser's name for people: "OpenImageDenoise", "OptiX".
std::string DenoiserName(std::string_view denoiser);

}  // namespace inferix::domain
