#pragma once
// Prometheus metrics (issue #16): counters, gauges and histograms with labels, kept in a registry and
// rendered in the text exposition format 0.0.4. Thread-safe and dependency-free. The hot path is cheap: a
// family is looked up once (by whoever records into it) and a child's handle kept; recording is one atomic
// operation. Figures read from elsewhere when scraped (a database, /proc) are not kept here: they are
// ScrapedFamily values rendered next to the registry's.
#include <atomic>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace inferix::metrics {

/// The kind of a metric family, as `# TYPE` names it.
enum class Type { kCounter, kGauge, kHistogram };

/// A value that only goes up: requests, bytes, seconds spent.
class Counter {
 public:
  /// Adds `by`; a negative amount is ignored (a counter never goes down).
  void Inc(double by = 1);
  double Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

/// A value that goes up and down.
class Gauge {
 public:
  void Set(double value) { value_.store(value, std::memory_order_relaxed); }
  void Add(double by) { value_.fetch_add(by, std::memory_order_relaxed); }
  double Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

/// Observations (seconds, as a rule) counted in fixed buckets, with their sum.
class Histogram {
 public:
  /// `bounds`: the buckets' upper bounds (inclusive), increasing and finite; +Inf is implied.
  explicit Histogram(std::vector<double> bounds);
  void Observe(double value);
  /// What the histogram holds now: the count of each bucket, cumulative (the last is +Inf, the count of all
  /// observations), and the sum of the observations.
  struct Snapshot {
    std::vector<uint64_t> cumulative;
    double sum = 0;
    uint64_t count() const { return cumulative.empty() ? 0 : cumulative.back(); }
  };
  Snapshot Read() const;
  const std::vector<double>& bounds() const { return bounds_; }

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> counts_;  // one per bound, then +Inf; not cumulative
  std::atomic<double> sum_{0};
};

/// Bucket bounds in seconds for request handling: 0.5 ms to 10 s.
std::vector<double> RequestSecondsBuckets();
/// Bucket bounds in seconds for database transactions: 0.1 ms to 10 s.
std::vector<double> TransactionSecondsBuckets();

/// What every family shares: its name, help, type and label names, and how it renders.
class FamilyBase {
 public:
  FamilyBase(std::string name, std::string help, Type type, std::vector<std::string> label_names);
  virtual ~FamilyBase() = default;
  FamilyBase(const FamilyBase&) = delete;
  FamilyBase& operator=(const FamilyBase&) = delete;
  const std::string& name() const { return name_; }
  Type type() const { return type_; }
  const std::vector<std::string>& label_names() const { return label_names_; }
  /// Appends the family in the text format: # HELP, # TYPE, then each child by its label values.
  void RenderTo(std::string& out) const;

 protected:
  /// Appends the sample lines of the child with these label values.
  virtual void RenderChild(const std::vector<std::string>& values, std::string& out) const = 0;
  /// The label values of every child, in order.
  virtual std::vector<std::vector<std::string>> ChildValues() const = 0;
  /// Throws std::invalid_argument when `values` does not give one value per label name.
  void CheckArity(size_t values) const;

 private:
  std::string name_;
  std::string help_;
  Type type_;
  std::vector<std::string> label_names_;
};

/// One family of metrics of type M (Counter, Gauge or Histogram): one child per set of label values.
template <class M>
class Family final : public FamilyBase {
 public:
  Family(std::string name, std::string help, Type type, std::vector<std::string> label_names,
         std::vector<double> bounds = {})
      : FamilyBase(std::move(name), std::move(help), type, std::move(label_names)),
        bounds_(std::move(bounds)) {}
  /// The child of these label values (one per label name, in their order), made on first use. The
  /// reference stays valid as long as the registry: keep it where the same labels are recorded again.
  M& With(const std::vector<std::string>& values) {
    CheckArity(values.size());
    std::lock_guard lock(mu_);
    auto it = children_.find(values);
    if (it == children_.end()) it = children_.emplace(values, Make()).first;
    return *it->second;
  }
  M& With(std::initializer_list<std::string_view> values) {
    return With(std::vector<std::string>(values.begin(), values.end()));
  }
  /// A histogram family's bucket bounds (empty for the others).
  const std::vector<double>& bounds() const { return bounds_; }

 protected:
  void RenderChild(const std::vector<std::string>& values, std::string& out) const override;
  std::vector<std::vector<std::string>> ChildValues() const override {
    std::lock_guard lock(mu_);
    std::vector<std::vector<std::string>> out;
    out.reserve(children_.size());
    for (const auto& [values, child] : children_) out.push_back(values);
    return out;
  }

 private:
  std::unique_ptr<M> Make() const {
    if constexpr (std::is_same_v<M, Histogram>) {
      return std::make_unique<M>(bounds_);
    } else {
      return std::make_unique<M>();
    }
  }
  const M& Child(const std::vector<std::string>& values) const {
    std::lock_guard lock(mu_);
    return *children_.at(values);
  }
  std::vector<double> bounds_;  // histograms only
  mutable std::mutex mu_;
  std::map<std::vector<std::string>, std::unique_ptr<M>> children_;
};

/// Sample lines of one child of a counter or gauge family; of a histogram's (its _bucket lines, _sum and
/// _count). `labels` is the child's rendered label pairs ("a=\"x\",b=\"y\""), empty when it has none.
void AppendSample(std::string& out, const std::string& name, const std::string& labels, double value);
void AppendHistogram(std::string& out, const std::string& name, const std::string& labels,
                     const std::vector<double>& bounds, const Histogram::Snapshot& snapshot);
/// The label pairs of `names` and `values` rendered for a sample line, values escaped.
std::string LabelPairs(const std::vector<std::string>& names, const std::vector<std::string>& values);

template <class M>
void Family<M>::RenderChild(const std::vector<std::string>& values, std::string& out) const {
  const std::string labels = LabelPairs(label_names(), values);
  const M& child = Child(values);
  if constexpr (std::is_same_v<M, Histogram>) {
    AppendHistogram(out, name(), labels, bounds_, child.Read());
  } else {
    AppendSample(out, name(), labels, child.Value());
  }
}

/// The families of one process (or of one test), by name.
class Registry {
 public:
  /// The family of that name, registered on first use. The same name again gives the same family when the
  /// type, label names (and buckets) agree; otherwise, or for an invalid name, throws std::invalid_argument.
  Family<Counter>& Counters(std::string_view name, std::string_view help,
                            std::vector<std::string> label_names = {});
  Family<Gauge>& Gauges(std::string_view name, std::string_view help,
                        std::vector<std::string> label_names = {});
  Family<Histogram>& Histograms(std::string_view name, std::string_view help,
                                std::vector<std::string> label_names, std::vector<double> bounds);
  /// Whether a family of that name is registered.
  bool Has(std::string_view name) const;
  /// Every family, by name, in the text format 0.0.4.
  std::string Render() const;

 private:
  template <class M>
  Family<M>& Get(std::string_view name, std::string_view help, Type type,
                 std::vector<std::string> label_names, std::vector<double> bounds);
  mutable std::mutex mu_;
  std::map<std::string, std::unique_ptr<FamilyBase>, std::less<>> families_;
};

/// The process's registry: what the manager's GET /metrics renders. Tests that count may make their own.
Registry& DefaultRegistry();

/// One sample of a family read when scraped.
struct Sample {
  std::vector<std::pair<std::string, std::string>> labels;  ///< name, value
  double value = 0;
};

/// A counter or gauge family whose samples are read when scraped (a database's state, /proc): rendered as
/// given, not kept.
struct ScrapedFamily {
  std::string name;
  std::string help;
  Type type = Type::kGauge;
  std::vector<Sample> samples;
};

/// Appends `family` in the text format; throws std::invalid_argument for a histogram or an invalid name.
void RenderScraped(const ScrapedFamily& family, std::string& out);

/// The process's figures from /proc/self, as Prometheus' client libraries name them:
/// process_cpu_seconds_total, process_resident_memory_bytes, process_virtual_memory_bytes,
/// process_open_fds, process_max_fds and process_start_time_seconds. What cannot be read is left out.
std::vector<ScrapedFamily> ProcessFamilies();

/// A value as the text format writes it: the shortest decimal that reads back the same (without an exponent
/// from 1e-6 to 1e15), "+Inf", "-Inf" or "NaN".
std::string FormatValue(double value);
/// A label value escaped for the text format: backslash, double quote and line feed.
std::string EscapeLabelValue(std::string_view value);

}  // namespace inferix::metrics
