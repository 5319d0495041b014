#pragma once
// JSON views of the domain's entities, as the API shows them to users, and the node protocol's claimed task.
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/result.hpp"
#include "domain/capabilities.hpp"
#include "domain/model.hpp"
#include "domain/state_machine.hpp"
#include "manager/scheduler.hpp"
#include "net/node_protocol.hpp"

namespace inferix::manager {

/// A job without its frames.
nlohmann::json JobToJson(const domain::Job& job);
/// A job's progress: frame counts by state, frames rendered (verifying or delivered), and the estimated
/// seconds left (`eta_s`, null when unknown or the job has ended).
nlohmann::json ProgressToJson(const domain::Job& job, const domain::FrameCounts& counts, int64_t now_ms);
/// Node names by id: the nodes a view names, not the whole farm.
using NodeNames = std::unordered_map<int64_t, std::string>;
/// A frame with its current output's verdict, worker and timings; `attempts` are the frame's outputs, oldest
/// first.
nlohmann::json FrameToJson(const domain::Frame& frame, const std::vector<const domain::Output*>& attempts,
                           const NodeNames& names);
/// The workers kept off a job, with their names and why.
nlohmann::json BlocklistToJson(const std::vector<domain::BlocklistEntry>& entries, const NodeNames& names);
/// A node as users and operators see it (no credentials).
nlohmann::json NodeToJson(const domain::Node& node);
/// Checks the machine description a node registers with, which every user's workers page shows: an object of
/// at most 16 KiB; the known fields with their types (strings of at most 256 characters, counts that are
/// non-negative integers, `gpus` a list of at most 64 objects with a string `name` and `memory`); further
/// fields are kept as sent.
Result<void> CheckCapabilities(const nlohmann::json& caps);
/// The Blender builds a node lends, from its machine description ("blenders", or the single "blender_version"
/// of nodes from before builds were listed), the default first; never empty (a node that described nothing
/// has one build of unknown version).
std::vector<domain::BlenderBuild> BuildsOf(const domain::Node& node);
/// The render slots a node lends ("slots" of its machine description: one per lent GPU, and the CPU where
/// its owner said so), by id ("cpu", "cuda:0"); empty for a node from before slots, which has one.
std::vector<std::string> SlotsOf(const domain::Node& node);
/// The device part of the determinism class of `slot` ("" : the node's first slot, or its description's
/// "device" when it lists none): "cpu" for the CPU, the type and model for a GPU ("optix NVIDIA GeForce RTX
/// 4090": two GPU models may render a frame differently). kInvalidArgument for a slot the node did not list.
Result<std::string> SlotDevice(const domain::Node& node, const std::string& slot);
/// The determinism class of a node rendering with one of its builds on one of its slots (DESIGN.md section
/// 6); for a node that listed no builds, the class it registered with.
std::string ClassOf(const domain::Node& node, const domain::BlenderBuild& build,
                    const std::string& slot = "");
/// ClassOf of each of `builds` on `slot`, reading the node's machine description once.
std::vector<std::string> ClassesOf(const domain::Node& node, const std::vector<domain::BlenderBuild>& builds,
                                   const std::string& slot = "");
/// What `slot` of the node offers a job's requirements (its type and memory; the CPU for a node that lists
/// no slots).
domain::SlotOffer OfferOf(const domain::Node& node, const std::string& slot);
/// Every class the node renders in: each build on each of its slots.
std::vector<std::string> AllClassesOf(const domain::Node& node);
/// A node's default class, from its machine description: `blender <blender_version> / <arch> / <device>`
/// (unknown where absent, device cpu).
std::string DefaultClassOf(const nlohmann::json& capabilities);

/// Makes the signed GET path of a stored object, by its key.
using SignGet = std::function<std::string(const std::string& key)>;
/// A job's scene as a node fetches it: its files with signed URLs, its root and resolution percentage.
net::SceneRef SceneOf(const domain::Job& job, const SignGet& sign_get);
/// What a node is told of the task it claimed (the answer of POST /tasks/claim; send net::ToJson of it):
/// the task, its scene, the build, the lease and heartbeat periods, and for a verify task the output under
/// check, how far to check it (the policy's region counts at the task's level) and any original output.
net::ClaimedTask ClaimedTaskOf(const Claim& claim, const SchedulerOptions& options, const SignGet& sign_get);

}  // namespace inferix::manager
