#pragma once
// What a node can render with (its Blender builds and their denoisers) and what a job needs of it: which
// build renders a job, and why none can.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"
#include "domain/model.hpp"

namespace inferix::domain {

/// One Blender build a node offers, as it described it when it registered.
struct BlenderBuild {
  std::string version;                 ///< what `blender --version` says: "3.4.1", "4.2.3 LTS"
  std::vector<std::string> denoisers;  ///< "OPENIMAGEDENOISE", "OPTIX"
  /// The render engines it renders ("CYCLES", "BLENDER_EEVEE", "BLENDER_WORKBENCH"); empty when the node did
  /// not say (a node from before engines were advertised): then every engine, as such nodes were given.
  std::vector<std::string> engines = {};
};

/// What a job asks of the Blender that renders it.
struct RenderNeeds {
  int blender_version = 0;             ///< of the scene's file, major * 100 + minor (304); 0: unknown
  std::vector<std::string> denoisers;  ///< denoisers it must have; empty when none (or the user waived them)
  JobRequirements requirements = {};   ///< its user's: a build in its Blender range (BuildMeets)
  std::string engine = {};             ///< the scene's render engine; "": unknown, any build renders it
};

/// What a job needs: its file's version, and its denoisers unless the user waived them.
RenderNeeds NeedsOf(const Job& job);

/// major * 100 + minor of a version such as "3.4.1" or "4.2 LTS"; 0 when it does not start with one.
int VersionNumber(std::string_view version);
/// "3.4" for 304.
std::string VersionName(int version_number);

/// True when `build` can render a job with these needs: at least as new as the scene's file (a build of
/// unknown version ranks as the newest), with every needed denoiser, in its user's Blender range, and
/// rendering the scene's engine (RendersEngine).
bool CanRender(const RenderNeeds& needs, const BlenderBuild& build);

/// True when `build` renders scenes of `engine`: one it advertises; any engine for a build that advertises
/// none (a node from before engines were advertised) and for an unknown engine ("").
bool RendersEngine(const BlenderBuild& build, std::string_view engine);
/// An engine's name for people: "Cycles", "Eevee", "Workbench"; an add-on's as Blender calls it.
std::string EngineName(std::string_view engine);
/// The engines `builds` render, for people ("Cycles, Eevee"); "every engine" when one advertises none.
std::string EnginesText(const std::vector<BlenderBuild>& builds);

/// The build of `builds` that renders a job: the oldest one at least as new as the scene's file (the closest
/// to the artist's own Blender) that has every needed denoiser; among equals the first listed. std::nullopt
/// when none can.
std::optional<size_t> ChooseBuild(const RenderNeeds& needs, const std::vector<BlenderBuild>& builds);

/// Why none of `builds` can render a job, for its user ("needs Blender 4.2 or newer; this worker has 3.4.1").
std::string WhyNoBuild(const RenderNeeds& needs, const std::vector<BlenderBuild>& builds);

/// A render slot as the scheduler sees it: its device type and memory (a node's machine description).
struct SlotOffer {
  std::string type = "CPU";  ///< Cycles' type: "CPU", "CUDA", "OPTIX", "HIP", "ONEAPI"
  int64_t memory_bytes = 0;  ///< a GPU's memory (0: unknown)
};

/// True when `slot` meets what `req` asks of the device (type and GPU memory; an unknown memory never meets a
/// minimum).
bool SlotMeets(const JobRequirements& req, const SlotOffer& slot);
/// True when `build`'s version lies in `req`'s Blender range (a build of unknown version meets none).
bool BuildMeets(const JobRequirements& req, const BlenderBuild& build);
/// What `req` asks, for people: "a GPU with at least 16 GiB of memory, Blender 3.6 to 4.2"; "" when nothing.
std::string RequirementsText(const JobRequirements& req);
/// Checks a user's requirements: a known device, and a version range that is not empty.
Result<void> CheckRequirements(const JobRequirements& req);
/// The stored form ("device=gpu;min_gpu_memory_bytes=17179869184;blender_min=306;blender_max=402") and back;
/// an unreadable text decodes as no requirements.
std::string EncodeRequirements(const JobRequirements& req);
JobRequirements DecodeRequirements(std::string_view text);

/// A denoiser's name for people: "OpenImageDenoise", "OptiX".
std::string DenoiserName(std::string_view denoiser);

}  // namespace inferix::domain
