#pragma once
// A fixture for the image tests: a temporary folder, and images written into it with OpenImageIO.
#include <OpenImageIO/imageio.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

namespace inferix::image::testing {

class ImageFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "inferix_image_test_XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  // Writes `pixels` (float, interleaved) stored as `type`; `quality` > 0 sets JPEG compression.
  std::filesystem::path Write(const std::string& name, int w, int h, int nch, OIIO::TypeDesc type,
                              const std::vector<float>& pixels, int quality = 0) {
    std::filesystem::path p = dir_ / name;
    auto out = OIIO::ImageOutput::create(p.string());
    EXPECT_TRUE(out) << OIIO::geterror();
    if (!out) return p;
    OIIO::ImageSpec spec(w, h, nch, type);
    if (quality > 0) spec.attribute("Compression", "jpeg:" + std::to_string(quality));
    spec.attribute("oiio:UnassociatedAlpha", 1);  // store `pixels` as given, not un-premultiplied
    EXPECT_TRUE(out->open(p.string(), spec)) << out->geterror();
    EXPECT_TRUE(out->write_image(OIIO::TypeDesc::FLOAT, pixels.data())) << out->geterror();
    EXPECT_TRUE(out->close()) << out->geterror();
    return p;
  }

  std::filesystem::path dir_;
};

}  // namespace inferix::image::testing
