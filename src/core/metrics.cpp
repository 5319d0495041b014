#include "core/metrics.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <stdexcept>

namespace inferix::metrics {
namespace {

const char* TypeName(Type type) {
  switch (type) {
    case Type::kCounter:
      return "counter";
    case Type::kGauge:
      return "gauge";
    case Type::kHistogram:
      return "histogram";
  }
  return "untyped";
}

bool IsMetricName(std::string_view name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
    if (!letter && !(i > 0 && c >= '0' && c <= '9')) return false;
  }
  return true;
}

// Label names may not hold ':' and those starting with "__" are Prometheus' own.
bool IsLabelName(std::string_view name) {
  return IsMetricName(name) && name.find(':') == std::string_view::npos && !name.starts_with("__");
}

void CheckLabelNames(std::string_view family, const std::vector<std::string>& names, bool histogram) {
  for (size_t i = 0; i < names.size(); ++i) {
    if (!IsLabelName(names[i]) || (histogram && names[i] == "le") ||
        std::find(names.begin(), names.begin() + static_cast<std::ptrdiff_t>(i), names[i]) !=
            names.begin() + static_cast<std::ptrdiff_t>(i)) {
      throw std::invalid_argument("metric " + std::string(family) + ": invalid or repeated label name \"" +
                                  names[i] + "\"");
    }
  }
}

// # HELP text escapes only backslash and line feed.
std::string EscapeHelp(std::string_view help) {
  std::string out;
  out.reserve(help.size());
  for (const char c : help) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

void AppendHeader(std::string& out, const std::string& name, const std::string& help, Type type) {
  out += "# HELP " + name + " " + EscapeHelp(help) + "\n";
  out += "# TYPE " + name + " " + TypeName(type) + "\n";
}

}  // namespace

void Counter::Inc(double by) {
  if (by > 0) value_.fetch_add(by, std::memory_order_relaxed);
}

Histogram::Histogram(std::vector<double> bounds) : bounds_(std::move(bounds)) {
  for (size_t i = 0; i < bounds_.size(); ++i) {
    if (!std::isfinite(bounds_[i]) || (i > 0 && bounds_[i] <= bounds_[i - 1])) {
      throw std::invalid_argument("histogram buckets must be finite and increasing");
    }
  }
  counts_ = std::make_unique<std::atomic<uint64_t>[]>(bounds_.size() + 1);
}

void Histogram::Observe(double value) {
  // The first bucket whose bound is at least the value (bounds are inclusive: le), else +Inf.
  const auto at = std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin();
  counts_[static_cast<size_t>(at)].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(value, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::Read() const {
  Snapshot s;
  s.cumulative.reserve(bounds_.size() + 1);
  uint64_t total = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    total += counts_[i].load(std::memory_order_relaxed);
    s.cumulative.push_back(total);
  }
  s.sum = sum_.load(std::memory_order_relaxed);
  return s;
}

std::vector<double> RequestSecondsBuckets() {
  return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

std::vector<double> TransactionSecondsBuckets() {
  return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

std::string FormatValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  // Plain decimals where people read them (bucket bounds, counts, bytes), the exponent form beyond.
  const double magnitude = std::fabs(value);
  const bool plain = magnitude == 0 || (magnitude >= 1e-6 && magnitude < 1e15);
  char buf[64];
  const auto [end, ec] = plain ? std::to_chars(buf, buf + sizeof buf, value, std::chars_format::fixed)
                               : std::to_chars(buf, buf + sizeof buf, value);
  if (ec != std::errc()) return "NaN";  // cannot happen: 64 bytes hold any double in these forms
  return std::string(buf, end);
}

std::string EscapeLabelValue(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (const char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string LabelPairs(const std::vector<std::string>& names, const std::vector<std::string>& values) {
  std::string out;
  for (size_t i = 0; i < names.size() && i < values.size(); ++i) {
    if (i > 0) out += ',';
    out += names[i] + "=\"" + EscapeLabelValue(values[i]) + "\"";
  }
  return out;
}

void AppendSample(std::string& out, const std::string& name, const std::string& labels, double value) {
  out += name;
  if (!labels.empty()) out += "{" + labels + "}";
  out += " " + FormatValue(value) + "\n";
}

void AppendHistogram(std::string& out, const std::string& name, const std::string& labels,
                     const std::vector<double>& bounds, const Histogram::Snapshot& snapshot) {
  const std::string before_le = labels.empty() ? "" : labels + ",";
  for (size_t i = 0; i < snapshot.cumulative.size(); ++i) {
    const std::string le = i < bounds.size() ? FormatValue(bounds[i]) : "+Inf";
    out.append(name).append("_bucket{").append(before_le).append("le=\"").append(le).append("\"} ");
    out.append(FormatValue(static_cast<double>(snapshot.cumulative[i]))).append("\n");
  }
  AppendSample(out, name + "_sum", labels, snapshot.sum);
  AppendSample(out, name + "_count", labels, static_cast<double>(snapshot.count()));
}

FamilyBase::FamilyBase(std::string name, std::string help, Type type, std::vector<std::string> label_names)
    : name_(std::move(name)), help_(std::move(help)), type_(type), label_names_(std::move(label_names)) {
  if (!IsMetricName(name_)) throw std::invalid_argument("invalid metric name \"" + name_ + "\"");
  CheckLabelNames(name_, label_names_, type_ == Type::kHistogram);
}

void FamilyBase::RenderTo(std::string& out) const {
  AppendHeader(out, name_, help_, type_);
  for (const auto& values : ChildValues()) RenderChild(values, out);
}

void FamilyBase::CheckArity(size_t values) const {
  if (values != label_names_.size()) {
    throw std::invalid_argument("metric " + name_ + " has " + std::to_string(label_names_.size()) +
                                " labels, not " + std::to_string(values));
  }
}

template <class M>
Family<M>& Registry::Get(std::string_view name, std::string_view help, Type type,
                         std::vector<std::string> label_names, std::vector<double> bounds) {
  std::lock_guard lock(mu_);
  auto it = families_.find(name);
  if (it != families_.end()) {
    auto* same = dynamic_cast<Family<M>*>(it->second.get());
    if (same == nullptr || same->type() != type || same->label_names() != label_names ||
        same->bounds() != bounds) {
      throw std::invalid_argument("metric " + std::string(name) +
                                  " is registered already with another type, labels or buckets");
    }
    return *same;
  }
  const bool unlabelled = label_names.empty();
  auto family = std::make_unique<Family<M>>(std::string(name), std::string(help), type,
                                            std::move(label_names), std::move(bounds));
  Family<M>& out = *family;
  families_.emplace(std::string(name), std::move(family));
  // A family without labels has its one sample from the start (0), as Prometheus' clients show it.
  if (unlabelled) out.With(std::vector<std::string>{});
  return out;
}

Family<Counter>& Registry::Counters(std::string_view name, std::string_view help,
                                    std::vector<std::string> label_names) {
  return Get<Counter>(name, help, Type::kCounter, std::move(label_names), {});
}

Family<Gauge>& Registry::Gauges(std::string_view name, std::string_view help,
                                std::vector<std::string> label_names) {
  return Get<Gauge>(name, help, Type::kGauge, std::move(label_names), {});
}

Family<Histogram>& Registry::Histograms(std::string_view name, std::string_view help,
                                        std::vector<std::string> label_names, std::vector<double> bounds) {
  // A histogram's buckets are fixed when it is made: Histogram's constructor checks them, here at once.
  (void)Histogram(bounds);
  return Get<Histogram>(name, help, Type::kHistogram, std::move(label_names), std::move(bounds));
}

bool Registry::Has(std::string_view name) const {
  std::lock_guard lock(mu_);
  return families_.find(name) != families_.end();
}

std::string Registry::Render() const {
  std::lock_guard lock(mu_);
  std::string out;
  for (const auto& [name, family] : families_) family->RenderTo(out);
  return out;
}

Registry& DefaultRegistry() {
  static Registry registry;
  return registry;
}

void RenderScraped(const ScrapedFamily& family, std::string& out) {
  if (!IsMetricName(family.name) || family.type == Type::kHistogram) {
    throw std::invalid_argument("a scraped family is a counter or gauge with a valid name, not " +
                                family.name);
  }
  AppendHeader(out, family.name, family.help, family.type);
  for (const Sample& s : family.samples) {
    std::vector<std::string> names;
    std::vector<std::string> values;
    for (const auto& [n, v] : s.labels) {
      names.push_back(n);
      values.push_back(v);
    }
    CheckLabelNames(family.name, names, false);
    AppendSample(out, family.name, LabelPairs(names, values), s.value);
  }
}

}  // namespace inferix::metrics
