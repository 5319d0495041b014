#include "core/metrics.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace inferix::metrics {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

TEST(Metrics, CountersAndGaugesRenderInTheTextFormatByNameThenLabels) {
  Registry r;
  auto& requests = r.Counters("app_requests_total", "Requests answered.", {"route", "code"});
  requests.With({"/b", "2xx"}).Inc();
  requests.With({"/a", "5xx"}).Inc(2);
  requests.With({"/a", "2xx"}).Inc(0.5);
  requests.With({"/a", "2xx"}).Inc(-3);  // ignored: a counter never goes down
  auto& depth = r.Gauges("app_depth", "Queue depth.");
  depth.With(std::vector<std::string>{}).Set(7);
  depth.With(std::vector<std::string>{}).Add(-2);
  EXPECT_EQ(r.Render(),
            "# HELP app_depth Queue depth.\n"
            "# TYPE app_depth gauge\n"
            "app_depth 5\n"
            "# HELP app_requests_total Requests answered.\n"
            "# TYPE app_requests_total counter\n"
            "app_requests_total{route=\"/a\",code=\"2xx\"} 0.5\n"
            "app_requests_total{route=\"/a\",code=\"5xx\"} 2\n"
            "app_requests_total{route=\"/b\",code=\"2xx\"} 1\n");
}

TEST(Metrics, AFamilyWithoutLabelsShowsZeroFromTheStart) {
  Registry r;
  r.Counters("app_events_total", "Events.");
  r.Gauges("app_labelled", "Labelled, no child yet.", {"kind"});
  EXPECT_EQ(r.Render(),
            "# HELP app_events_total Events.\n# TYPE app_events_total counter\napp_events_total 0\n"
            "# HELP app_labelled Labelled, no child yet.\n# TYPE app_labelled gauge\n");
}

TEST(Metrics, HistogramBucketsAreCumulativeWithInfSumAndCount) {
  Registry r;
  auto& h = r.Histograms("app_seconds", "Time taken.", {"route"}, {0.005, 0.1, 1});
  auto& claims = h.With({"claim"});
  for (double v : {0.001, 0.005, 0.05, 0.5, 3.0}) claims.Observe(v);
  EXPECT_EQ(r.Render(),
            "# HELP app_seconds Time taken.\n"
            "# TYPE app_seconds histogram\n"
            "app_seconds_bucket{route=\"claim\",le=\"0.005\"} 2\n"
            "app_seconds_bucket{route=\"claim\",le=\"0.1\"} 3\n"
            "app_seconds_bucket{route=\"claim\",le=\"1\"} 4\n"
            "app_seconds_bucket{route=\"claim\",le=\"+Inf\"} 5\n"
            "app_seconds_sum{route=\"claim\"} 3.556\n"
            "app_seconds_count{route=\"claim\"} 5\n");
  auto& plain = r.Histograms("app_tx_seconds", "Unlabelled.", {}, {0.5});
  plain.With(std::vector<std::string>{}).Observe(0.25);
  EXPECT_THAT(r.Render(), HasSubstr("app_tx_seconds_bucket{le=\"0.5\"} 1\n"
                                    "app_tx_seconds_bucket{le=\"+Inf\"} 1\n"
                                    "app_tx_seconds_sum 0.25\n"
                                    "app_tx_seconds_count 1\n"));
}

TEST(Metrics, LabelValuesAndHelpAreEscaped) {
  Registry r;
  r.Gauges("app_odd", "Back\\slash and\nnewline \"quoted\".", {"name"})
      .With({std::string("a\"b\\c\nd")})
      .Set(1);
  EXPECT_EQ(r.Render(),
            "# HELP app_odd Back\\\\slash and\\nnewline \"quoted\".\n"
            "# TYPE app_odd gauge\n"
            "app_odd{name=\"a\\\"b\\\\c\\nd\"} 1\n");
  EXPECT_EQ(EscapeLabelValue("ünï \\ \" \n"), "ünï \\\\ \\\" \\n");
}

TEST(Metrics, ValuesAreTheShortestDecimalThatReadsBack) {
  EXPECT_EQ(FormatValue(0), "0");
  EXPECT_EQ(FormatValue(3), "3");
  EXPECT_EQ(FormatValue(0.0005), "0.0005");
  EXPECT_EQ(FormatValue(10), "10");
  EXPECT_EQ(FormatValue(1e6), "1000000");
  EXPECT_EQ(FormatValue(123456789), "123456789");
  EXPECT_EQ(FormatValue(2.5e-9), "2.5e-09");
  EXPECT_EQ(FormatValue(1e300), "1e+300");
  EXPECT_EQ(FormatValue(-1.5), "-1.5");
  EXPECT_EQ(FormatValue(1.0 / 0.0), "+Inf");
  EXPECT_EQ(FormatValue(-1.0 / 0.0), "-Inf");
  EXPECT_EQ(FormatValue(0.0 / 0.0), "NaN");
  EXPECT_EQ(std::stod(FormatValue(0.1 + 0.2)), 0.1 + 0.2);
}

TEST(Metrics, TheSameNameGivesTheSameFamilyOrAnError) {
  Registry r;
  auto& a = r.Counters("app_total", "A.", {"x"});
  EXPECT_EQ(&r.Counters("app_total", "A.", {"x"}), &a);
  EXPECT_TRUE(r.Has("app_total"));
  EXPECT_FALSE(r.Has("app_other"));
  EXPECT_THROW(r.Gauges("app_total", "A.", {"x"}), std::invalid_argument);
  EXPECT_THROW(r.Counters("app_total", "A.", {"y"}), std::invalid_argument);
  r.Histograms("app_h", "H.", {}, {1, 2});
  EXPECT_THROW(r.Histograms("app_h", "H.", {}, {1, 3}), std::invalid_argument);
  // Invalid names, labels and buckets are programming errors.
  EXPECT_THROW(r.Counters("9lives", "."), std::invalid_argument);
  EXPECT_THROW(r.Counters("app-dash", "."), std::invalid_argument);
  EXPECT_THROW(r.Counters("app_l", ".", {"__reserved"}), std::invalid_argument);
  EXPECT_THROW(r.Counters("app_l2", ".", {"a", "a"}), std::invalid_argument);
  EXPECT_THROW(r.Histograms("app_le", ".", {"le"}, {1}), std::invalid_argument);
  EXPECT_THROW(r.Histograms("app_desc", ".", {}, {2, 1}), std::invalid_argument);
  EXPECT_THROW(a.With({"one", "two"}), std::invalid_argument);
}

TEST(Metrics, ScrapedFamiliesRenderAsGiven) {
  std::string out;
  RenderScraped(ScrapedFamily{"app_nodes",
                              "Nodes by state.",
                              Type::kGauge,
                              {Sample{{{"role", "worker"}, {"state", "idle"}}, 2}, Sample{{}, 0}}},
                out);
  EXPECT_EQ(out,
            "# HELP app_nodes Nodes by state.\n# TYPE app_nodes gauge\n"
            "app_nodes{role=\"worker\",state=\"idle\"} 2\napp_nodes 0\n");
  EXPECT_THROW(RenderScraped(ScrapedFamily{"bad name", "", Type::kGauge, {}}, out), std::invalid_argument);
  EXPECT_THROW(RenderScraped(ScrapedFamily{"app_h", "", Type::kHistogram, {}}, out), std::invalid_argument);
}

TEST(Metrics, ProcessFiguresAreRead) {
  std::string out;
  for (const auto& f : ProcessFamilies()) RenderScraped(f, out);
  EXPECT_THAT(out, HasSubstr("# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total "));
  EXPECT_THAT(out, HasSubstr("\nprocess_resident_memory_bytes "));
  EXPECT_THAT(out, HasSubstr("\nprocess_open_fds "));
  EXPECT_THAT(out, HasSubstr("\nprocess_start_time_seconds "));
}

// Several threads record into the same children (and make new ones) while another renders: nothing is lost.
TEST(Metrics, ConcurrentRecordingLosesNothing) {
  Registry r;
  auto& counter = r.Counters("app_c_total", "C.", {"t"});
  auto& hist = r.Histograms("app_h_seconds", "H.", {}, {0.5});
  constexpr int kThreads = 8;
  constexpr int kEach = 20'000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      auto& shared = counter.With({"shared"});
      auto& own = counter.With({"t" + std::to_string(t)});
      auto& h = hist.With(std::vector<std::string>{});
      for (int i = 0; i < kEach; ++i) {
        shared.Inc();
        own.Inc();
        h.Observe(i % 2 == 0 ? 0.25 : 1.0);
      }
    });
  }
  std::thread reader([&] {
    for (int i = 0; i < 50; ++i) EXPECT_THAT(r.Render(), StartsWith("# HELP app_c_total C."));
  });
  for (auto& t : threads) t.join();
  reader.join();
  EXPECT_EQ(counter.With({"shared"}).Value(), kThreads * kEach);
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(counter.With({"t" + std::to_string(t)}).Value(), kEach);
  const auto snap = hist.With(std::vector<std::string>{}).Read();
  EXPECT_EQ(snap.cumulative, (std::vector<uint64_t>{kThreads * kEach / 2, kThreads * kEach}));
  EXPECT_DOUBLE_EQ(snap.sum, kThreads * kEach / 2 * 0.25 + kThreads * kEach / 2 * 1.0);
}

}  // namespace
}  // namespace inferix::metrics
