#pragma once
// `inferix --version`: what a bug report needs to name the build.
#include <string>

namespace inferix::app {

/// The version, the commit the binary was built from (commit.cpp, written at every build by
/// apps/inferix/cmake/version.cmake), and the Blender on PATH (the default of --blender) with its version and
/// denoisers, or that there is none.
std::string VersionText();

}  // namespace inferix::app
