#pragma once
// Internal to the .blend reader: the DNA1 block, the catalog of every struct (member names, types and sizes)
// a file was written with, and where a Library data-block keeps its path according to it. Not part of the
// module's interface; include blend/blend_file.hpp instead.
#include <cstdint>
#include <string_view>
#include <vector>

#include "core/result.hpp"

namespace inferix::blend::internal {

struct DnaMember {
  uint16_t type = 0;
  uint16_t name = 0;
};

struct DnaStruct {
  uint16_t type = 0;
  uint32_t first_member = 0;
  uint16_t member_count = 0;
};

// The parsed catalog; its names point into the DNA1 block's bytes, which must outlive it.
struct Dna {
  std::vector<std::string_view> names;
  std::vector<std::string_view> types;
  std::vector<uint16_t> type_sizes;
  std::vector<DnaStruct> structs;
  std::vector<DnaMember> members;
};

// Parses a DNA1 block's bytes (byte order `little` or big); an error naming `what` where it is damaged.
Result<Dna> ParseDna(std::string_view data, bool little, std::string_view what);

// Where a Library keeps the path it was linked with.
struct PathField {
  uint64_t offset = 0;
  uint64_t size = 0;
};

// Finds the Library's path member. On disk it has always been `name` (Blender renames it `filepath` only in
// memory: makesdna's dna_rename_defs.h); beside it 2.7x to 2.90 store the absolute path as `filepath`, 2.91
// to 4.x as `filepath_abs`, and 5.x nothing. A catalog that uses the in-memory names (`filepath` with
// `filepath_abs`, no `name`) is read too.
Result<PathField> FindLibraryPath(const Dna& dna, const DnaStruct& s, int pointer_size,
                                  std::string_view what);

}  // namespace inferix::blend::internal
