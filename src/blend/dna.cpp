#include "blend/dna.hpp"

#include <algorithm>
#include <optional>
#include <string>

#include "blend/bytes.hpp"

namespace inferix::blend::internal {
namespace {

constexpr int32_t kMaxDnaItems = 1 << 20;
constexpr uint64_t kMaxArrayLength = uint64_t{1} << 31;

// Bounds-checked reads through a block's bytes.
class Cursor {
 public:
  Cursor(std::string_view data, bool little) : data_(data), little_(little) {}
  size_t Left() const { return data_.size() - pos_; }
  bool Tag(std::string_view tag) {
    if (Left() < tag.size() || data_.substr(pos_, tag.size()) != tag) {
      return false;
    }
    pos_ += tag.size();
    return true;
  }
  std::optional<int32_t> I32() {
    if (Left() < 4) {
      return std::nullopt;
    }
    const int32_t v = LoadI32(data_.data() + pos_, little_);
    pos_ += 4;
    return v;
  }
  std::optional<int16_t> I16() {
    if (Left() < 2) {
      return std::nullopt;
    }
    const auto v = static_cast<int16_t>(static_cast<uint16_t>(Load(data_.data() + pos_, 2, little_)));
    pos_ += 2;
    return v;
  }
  std::optional<std::string_view> CString() {
    const size_t end = data_.find('\0', pos_);
    if (end == std::string_view::npos) {
      return std::nullopt;
    }
    const std::string_view s = data_.substr(pos_, end - pos_);
    pos_ = end + 1;
    return s;
  }
  // Sections start 4-byte aligned (relative to the block, which Blender reads into aligned memory).
  void Align4() { pos_ = std::min(data_.size(), (pos_ + 3) & ~size_t{3}); }

 private:
  std::string_view data_;
  bool little_;
  size_t pos_ = 0;
};

Result<std::vector<std::string_view>> ReadDnaNames(Cursor& c, std::string_view tag, std::string_view what) {
  if (!c.Tag(tag)) {
    return Invalid(what, "the DNA1 block is damaged: no " + std::string(tag) + " section");
  }
  const auto count = c.I32();
  if (!count || *count < 0 || *count > kMaxDnaItems || static_cast<size_t>(*count) > c.Left()) {
    return Invalid(what, "the DNA1 block is damaged: its " + std::string(tag) + " count is beyond its data");
  }
  std::vector<std::string_view> names;
  names.reserve(static_cast<size_t>(*count));
  for (int32_t i = 0; i < *count; ++i) {
    auto s = c.CString();
    if (!s) {
      return Invalid(what, "the DNA1 block is damaged: its " + std::string(tag) + " list runs past its end");
    }
    names.push_back(*s);
  }
  c.Align4();
  return names;
}

// A member name without its pointer marks and array sizes: "*next" -> "next", "name[1024]" -> "name",
// "(*func)()" -> "func".
std::string_view BareName(std::string_view name) {
  size_t begin = 0;
  while (begin < name.size() && (name[begin] == '*' || name[begin] == '(')) {
    ++begin;
  }
  size_t end = begin;
  while (end < name.size() && name[end] != '[' && name[end] != ')') {
    ++end;
  }
  return name.substr(begin, end - begin);
}

bool IsPointer(std::string_view name) { return name.starts_with("*") || name.starts_with("(*"); }

// The number of elements a member name declares: the product of its [N] sizes, 1 without any.
std::optional<uint64_t> ArrayLength(std::string_view name) {
  uint64_t length = 1;
  size_t pos = name.find('[');
  while (pos != std::string_view::npos) {
    const size_t close = name.find(']', pos);
    if (close == std::string_view::npos) {
      return std::nullopt;
    }
    const std::string_view digits = name.substr(pos + 1, close - pos - 1);
    if (!AllDigits(digits) || digits.size() > 9) {
      return std::nullopt;
    }
    length *= static_cast<uint64_t>(DigitsValue(digits));
    if (length > kMaxArrayLength) {
      return std::nullopt;
    }
    pos = name.find('[', close);
  }
  return length;
}

}  // namespace

Result<Dna> ParseDna(std::string_view data, bool little, std::string_view what) {
  Cursor c(data, little);
  if (!c.Tag("SDNA")) {
    return Invalid(what, "the DNA1 block is damaged: it does not start with SDNA");
  }
  Dna dna;
  auto names = ReadDnaNames(c, "NAME", what);
  if (!names) {
    return names.error();
  }
  dna.names = std::move(*names);
  auto types = ReadDnaNames(c, "TYPE", what);
  if (!types) {
    return types.error();
  }
  dna.types = std::move(*types);

  if (!c.Tag("TLEN") || c.Left() < 2 * dna.types.size()) {
    return Invalid(what, "the DNA1 block is damaged: its TLEN section is missing or short");
  }
  dna.type_sizes.reserve(dna.types.size());
  for (size_t i = 0; i < dna.types.size(); ++i) {
    dna.type_sizes.push_back(static_cast<uint16_t>(c.I16().value_or(0)));
  }
  c.Align4();

  if (!c.Tag("STRC")) {
    return Invalid(what, "the DNA1 block is damaged: no STRC section");
  }
  const auto count = c.I32();
  if (!count || *count < 0 || *count > kMaxDnaItems || static_cast<size_t>(*count) > c.Left() / 4) {
    return Invalid(what, "the DNA1 block is damaged: its STRC count is beyond its data");
  }
  dna.structs.reserve(static_cast<size_t>(*count));
  for (int32_t i = 0; i < *count; ++i) {
    const auto type = c.I16();
    const auto member_count = c.I16();
    if (!type || !member_count || *type < 0 || static_cast<size_t>(*type) >= dna.types.size() ||
        *member_count < 0 || static_cast<size_t>(*member_count) > c.Left() / 4) {
      return Invalid(what, "the DNA1 block is damaged: struct " + std::to_string(i) + " is out of range");
    }
    DnaStruct s;
    s.type = static_cast<uint16_t>(*type);
    s.first_member = static_cast<uint32_t>(dna.members.size());
    s.member_count = static_cast<uint16_t>(*member_count);
    for (int16_t m = 0; m < *member_count; ++m) {
      const auto member_type = c.I16();
      const auto member_name = c.I16();
      if (!member_type || !member_name || *member_type < 0 ||
          static_cast<size_t>(*member_type) >= dna.types.size() || *member_name < 0 ||
          static_cast<size_t>(*member_name) >= dna.names.size()) {
        return Invalid(
            what, "the DNA1 block is damaged: a member of struct " + std::to_string(i) + " is out of range");
      }
      dna.members.push_back({static_cast<uint16_t>(*member_type), static_cast<uint16_t>(*member_name)});
    }
    dna.structs.push_back(s);
  }
  return dna;
}

Result<PathField> FindLibraryPath(const Dna& dna, const DnaStruct& s, int pointer_size,
                                  std::string_view what) {
  std::optional<PathField> name;
  std::optional<PathField> filepath;
  bool has_filepath_abs = false;
  uint64_t offset = 0;
  for (uint32_t i = 0; i < s.member_count; ++i) {
    const DnaMember& m = dna.members[s.first_member + i];
    const std::string_view member = dna.names[m.name];
    const auto length = ArrayLength(member);
    if (!length) {
      return Invalid(what, "the DNA1 block is damaged: the Library member \"" + Printable(member) +
                               "\" has a malformed array size");
    }
    const bool pointer = IsPointer(member);
    const uint64_t size = *length * (pointer ? static_cast<uint64_t>(pointer_size) : dna.type_sizes[m.type]);
    const std::string_view bare = BareName(member);
    const bool char_array =
        !pointer && dna.types[m.type] == "char" && member.find('[') != std::string_view::npos;
    if (bare == "name" && char_array) {
      name = PathField{offset, size};
    }
    if (bare == "filepath" && char_array) {
      filepath = PathField{offset, size};
    }
    if (bare == "filepath_abs") {
      has_filepath_abs = true;
    }
    offset += size;
  }
  if (name) {
    return *name;
  }
  if (filepath && has_filepath_abs) {
    return *filepath;
  }
  return Invalid(
      what,
      "the Library struct in the DNA1 block has no path member (a char array `name`, or `filepath` beside "
      "`filepath_abs`): the file is damaged, or from a Blender this reader does not know");
}

}  // namespace inferix::blend::internal
