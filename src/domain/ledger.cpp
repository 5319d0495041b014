#include "domain/ledger.hpp"

#include <array>
#include <limits>
#include <string>
#include <utility>

namespace inferix::domain {
namespace {

constexpr std::array kAccountKinds{AccountKind::kUserAvailable, AccountKind::kUserHeld,
                                   AccountKind::kOwnerPending,  AccountKind::kOwnerAvailable,
                                   AccountKind::kNetworkFees,   AccountKind::kVerificationCosts,
                                   AccountKind::kIssued};
constexpr std::array kPostingKinds{PostingKind::kGrant,   PostingKind::kHold,   PostingKind::kEarn,
                                   PostingKind::kRelease, PostingKind::kRefund, PostingKind::kForfeit,
                                   PostingKind::kMature};

constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
constexpr int64_t kMin = std::numeric_limits<int64_t>::min();

// a + b into `sum`; false (and `sum` untouched) when it would overflow int64.
bool AddChecked(int64_t a, int64_t b, int64_t& sum) {
  if (b > 0 ? a > kMax - b : a < kMin - b) return false;
  sum = a + b;
  return true;
}

// a * b into `product`; false (and `product` untouched) when it would overflow int64.
bool MulChecked(int64_t a, int64_t b, int64_t& product) { return !__builtin_mul_overflow(a, b, &product); }

std::string Str(int64_t v) { return std::to_string(v); }

// The digits of -v, for a debit shown as what it takes; -v itself would overflow for the smallest int64.
std::string Taken(int64_t v) { return v == kMin ? "9223372036854775808" : Str(-v); }

std::string FrameOf(int64_t job_id, int frame) {
  return "frame " + std::to_string(frame) + " of job " + Str(job_id);
}

// Builders refuse what they cannot book: amounts must be positive (a zero or negative hold, earn or grant
// would be a bug upstream, or money flowing the wrong way).
Result<void> CheckAmount(int64_t amount, std::string_view what, std::string_view on) {
  if (amount > 0) return Ok();
  return MakeError(Errc::kInvalidArgument, std::string(what) + " of " + std::string(on) +
                                               " must be a positive number of micro-credits, got " +
                                               Str(amount));
}

Result<void> CheckId(int64_t id, std::string_view what, std::string_view on) {
  if (id > 0) return Ok();
  return MakeError(Errc::kInvalidArgument,
                   std::string(what) + " of " + std::string(on) + " must be a positive id, got " + Str(id));
}

Result<void> CheckKey(const std::string& key, std::string_view on) {
  if (!key.empty()) return Ok();
  return MakeError(Errc::kInvalidArgument,
                   "the posting for " + std::string(on) + " needs an idempotency key naming its event");
}

// An entry CheckPosting refuses (a function of its own: clang-tidy rightly flags building strings in a loop).
Error BadEntry(const std::string& posting, const Account& account, std::string_view problem) {
  return MakeError(Errc::kInvalidArgument,
                   posting + ": account " + ToString(account) + " " + std::string(problem));
}

Posting NewPosting(PostingKind kind, std::string key, int64_t now_ms, std::string memo) {
  Posting p;
  p.key = std::move(key);
  p.kind = kind;
  p.created_ms = now_ms;
  p.memo = std::move(memo);
  return p;
}

// Hold, Release and Refund move one amount between a user's two accounts for one frame.
Result<Posting> FrameMove(PostingKind kind, Account from, Account to, int64_t job_id, int frame,
                          int64_t amount, std::string key, int64_t now_ms, std::string memo) {
  const std::string on = std::string(ToString(kind)) + " for " + FrameOf(job_id, frame);
  INFERIX_TRY(CheckId(from.owner_id, "the user", on));
  INFERIX_TRY(CheckId(job_id, "the job", on));
  INFERIX_TRY(CheckAmount(amount, "the amount", on));
  INFERIX_TRY(CheckKey(key, on));
  Posting p = NewPosting(kind, std::move(key), now_ms, std::move(memo));
  p.job_id = job_id;
  p.frame = frame;
  p.entries = {{from, -amount}, {to, amount}};
  return p;
}

}  // namespace

std::string_view ToString(AccountKind k) {
  switch (k) {
    case AccountKind::kUserAvailable:
      return "user_available";
    case AccountKind::kUserHeld:
      return "user_held";
    case AccountKind::kOwnerPending:
      return "owner_pending";
    case AccountKind::kOwnerAvailable:
      return "owner_available";
    case AccountKind::kNetworkFees:
      return "network_fees";
    case AccountKind::kVerificationCosts:
      return "verification_costs";
    case AccountKind::kIssued:
      return "issued";
  }
  return "unknown";
}

std::optional<AccountKind> ParseAccountKind(std::string_view s) {
  for (AccountKind k : kAccountKinds) {
    if (ToString(k) == s) return k;
  }
  return std::nullopt;
}

bool IsNetworkAccount(AccountKind k) {
  switch (k) {
    case AccountKind::kUserAvailable:
    case AccountKind::kUserHeld:
    case AccountKind::kOwnerPending:
    case AccountKind::kOwnerAvailable:
      return false;
    case AccountKind::kNetworkFees:
    case AccountKind::kVerificationCosts:
    case AccountKind::kIssued:
      return true;
  }
  return false;
}

std::string ToString(const Account& a) {
  if (IsNetworkAccount(a.kind) && a.owner_id == 0) return std::string(ToString(a.kind));
  return std::string(ToString(a.kind)) + ":" + Str(a.owner_id);
}

std::string_view ToString(PostingKind k) {
  switch (k) {
    case PostingKind::kGrant:
      return "grant";
    case PostingKind::kHold:
      return "hold";
    case PostingKind::kEarn:
      return "earn";
    case PostingKind::kRelease:
      return "release";
    case PostingKind::kRefund:
      return "refund";
    case PostingKind::kForfeit:
      return "forfeit";
    case PostingKind::kMature:
      return "mature";
  }
  return "unknown";
}

std::optional<PostingKind> ParsePostingKind(std::string_view s) {
  for (PostingKind k : kPostingKinds) {
    if (ToString(k) == s) return k;
  }
  return std::nullopt;
}

Result<void> CheckPosting(const Posting& p) {
  const std::string what = std::string(ToString(p.kind)) + " posting \"" + p.key + "\"";
  if (p.key.empty()) {
    return MakeError(Errc::kInvalidArgument, "a " + std::string(ToString(p.kind)) +
                                                 " posting needs an idempotency key naming its event");
  }
  if (p.entries.size() < 2) {
    return MakeError(Errc::kInvalidArgument,
                     what + " has " + std::to_string(p.entries.size()) +
                         " entries: a posting moves credits from one account to another, "
                         "so it needs at least two");
  }
  std::set<Account> seen;
  // Credits and debits are summed apart, each checked for overflow; the posting balances when they cancel.
  int64_t credits = 0;
  int64_t debits = 0;
  for (const Entry& e : p.entries) {
    if (IsNetworkAccount(e.account.kind) && e.account.owner_id != 0) {
      return BadEntry(what, e.account, "is the operator's, which belongs to no user (id 0)");
    }
    if (!IsNetworkAccount(e.account.kind) && e.account.owner_id <= 0) {
      return BadEntry(what, e.account, "needs a positive user id");
    }
    if (e.amount == 0) {
      return BadEntry(what, e.account, "has a zero amount: leave out an entry that moves nothing");
    }
    if (!seen.insert(e.account).second) {
      return BadEntry(what, e.account, "appears twice: merge its entries into one");
    }
    int64_t& side = e.amount > 0 ? credits : debits;
    if (!AddChecked(side, e.amount, side)) {
      return MakeError(Errc::kInvalidArgument,
                       what + " moves more than an int64 of micro-credits: split it or check its amounts");
    }
  }
  // credits >= 0 and debits <= 0, so their sum cannot overflow.
  if (credits + debits != 0) {
    return MakeError(Errc::kInvalidArgument,
                     what + " is unbalanced: it credits " + Str(credits) + " and debits " + Taken(debits) +
                         " micro-credits; they must be equal, or credits appear or vanish");
  }
  return Ok();
}

Result<void> CheckFeeSchedule(const FeeSchedule& fees) {
  auto bad = [](std::string_view name, int64_t ppm) {
    return MakeError(Errc::kInvalidArgument, "the " + std::string(name) + " fee must be between 0 and " +
                                                 Str(kPartsPerMillion) +
                                                 " parts per million of the price, got " + Str(ppm));
  };
  if (fees.network_ppm < 0 || fees.network_ppm > kPartsPerMillion) return bad("network", fees.network_ppm);
  if (fees.verification_ppm < 0 || fees.verification_ppm > kPartsPerMillion) {
    return bad("verification", fees.verification_ppm);
  }
  if (fees.network_ppm + fees.verification_ppm > kPartsPerMillion) {
    return MakeError(Errc::kInvalidArgument, "the fees (network " + Str(fees.network_ppm) +
                                                 " and verification " + Str(fees.verification_ppm) +
                                                 " parts per million) add up to more than the whole price");
  }
  return Ok();
}

EarnShares SplitPrice(int64_t price, const FeeSchedule& fees) {
  // floor(price * ppm / 1e6) without forming price * ppm, which overflows for prices above about 9.2e12:
  // with price = q * 1e6 + r, it is q * ppm + floor(r * ppm / 1e6), where q * ppm <= price and r * ppm <
  // 1e12.
  auto share = [price](int64_t ppm) {
    return (price / kPartsPerMillion) * ppm + (price % kPartsPerMillion) * ppm / kPartsPerMillion;
  };
  EarnShares s;
  s.network = share(fees.network_ppm);
  s.verification = share(fees.verification_ppm);
  // Each fee is rounded down, so the owner, whose machine did the work, gets the remainder (at most 2
  // micro-credits over the exact share) and the parts sum to the price exactly.
  s.owner = price - s.network - s.verification;
  return s;
}

Result<Posting> Grant(int64_t user_id, int64_t amount, std::string key, int64_t now_ms) {
  const std::string on = "a grant to user " + Str(user_id);
  INFERIX_TRY(CheckId(user_id, "the user", on));
  INFERIX_TRY(CheckAmount(amount, "the amount", on));
  INFERIX_TRY(CheckKey(key, on));
  Posting p =
      NewPosting(PostingKind::kGrant, std::move(key), now_ms, "granted " + Str(amount) + " micro-credits");
  p.entries = {{Issued(), -amount}, {UserAvailable(user_id), amount}};
  return p;
}

Result<Posting> Hold(int64_t user_id, int64_t job_id, int frame, int64_t price, std::string key,
                     int64_t now_ms) {
  return FrameMove(PostingKind::kHold, UserAvailable(user_id), UserHeld(user_id), job_id, frame, price,
                   std::move(key), now_ms, "held for " + FrameOf(job_id, frame) + " while it renders");
}

Result<Posting> Earn(int64_t user_id, int64_t owner_id, int64_t node_id, int64_t job_id, int frame,
                     int64_t price, const FeeSchedule& fees, std::string key, int64_t now_ms) {
  const std::string on = "the earning for " + FrameOf(job_id, frame);
  INFERIX_TRY(CheckId(user_id, "the user", on));
  INFERIX_TRY(CheckId(job_id, "the job", on));
  INFERIX_TRY(CheckId(node_id, "the node", on));
  if (owner_id < 0) {
    return MakeError(
        Errc::kInvalidArgument,
        "the owner of " + on + " must be a user id, or 0 for a node nobody owns, got " + Str(owner_id));
  }
  INFERIX_TRY(CheckAmount(price, "the price", on));
  INFERIX_TRY(CheckFeeSchedule(fees));
  INFERIX_TRY(CheckKey(key, on));
  EarnShares s = SplitPrice(price, fees);
  if (owner_id == 0) {
    // A node nobody owns: nobody to pay, so its share is the network's.
    s.network += s.owner;
    s.owner = 0;
  }
  Posting p = NewPosting(PostingKind::kEarn, std::move(key), now_ms,
                         "paid for " + FrameOf(job_id, frame) + " rendered by node " + Str(node_id));
  p.job_id = job_id;
  p.frame = frame;
  p.node_id = node_id;
  p.entries.push_back({UserHeld(user_id), -price});
  if (s.owner > 0) p.entries.push_back({OwnerPending(owner_id), s.owner});
  if (s.network > 0) p.entries.push_back({NetworkFees(), s.network});
  if (s.verification > 0) p.entries.push_back({VerificationCosts(), s.verification});
  return p;
}

Result<Posting> Release(int64_t user_id, int64_t job_id, int frame, int64_t amount, std::string key,
                        int64_t now_ms) {
  return FrameMove(PostingKind::kRelease, UserHeld(user_id), UserAvailable(user_id), job_id, frame, amount,
                   std::move(key), now_ms, "released the hold for " + FrameOf(job_id, frame));
}

Result<Posting> Refund(int64_t user_id, int64_t job_id, int frame, int64_t amount, std::string key,
                       int64_t now_ms) {
  return FrameMove(PostingKind::kRefund, UserHeld(user_id), UserAvailable(user_id), job_id, frame, amount,
                   std::move(key), now_ms,
                   "refunded " + FrameOf(job_id, frame) + ": it failed on every worker");
}

Result<Posting> Forfeit(int64_t owner_id, int64_t node_id, const std::vector<Victim>& victims,
                        std::string key, int64_t now_ms) {
  const std::string on = "the forfeit of node " + Str(node_id);
  if (owner_id == 0) {
    return MakeError(Errc::kInvalidArgument,
                     on + " has no owner to take earnings from: its shares went to the network's fees; "
                          "give the users back their credits with a grant");
  }
  INFERIX_TRY(CheckId(owner_id, "the owner", on));
  INFERIX_TRY(CheckId(node_id, "the node", on));
  INFERIX_TRY(CheckKey(key, on));
  if (victims.empty()) {
    return MakeError(Errc::kInvalidArgument, on + " names no user to pay back: there is nothing to forfeit");
  }
  // One entry per user, in user id order, so that the same victims give the same posting.
  std::map<int64_t, int64_t> by_user;
  int64_t total = 0;
  for (const Victim& v : victims) {
    INFERIX_TRY(CheckId(v.user_id, "a cheated user", on));
    INFERIX_TRY(CheckAmount(v.amount, "the amount for user " + Str(v.user_id), on));
    if (!AddChecked(total, v.amount, total)) {
      return MakeError(Errc::kInvalidArgument, on + " pays back more than an int64 of micro-credits");
    }
    by_user[v.user_id] += v.amount;  // at most `total`, which did not overflow
  }
  Posting p = NewPosting(PostingKind::kForfeit, std::move(key), now_ms,
                         "node " + Str(node_id) + " was banned: its owner's pending earnings pay back " +
                             std::to_string(by_user.size()) + " user(s)");
  p.node_id = node_id;
  p.entries.push_back({OwnerPending(owner_id), -total});
  for (const auto& [user_id, amount] : by_user) p.entries.push_back({UserAvailable(user_id), amount});
  return p;
}

Result<Posting> Mature(int64_t owner_id, int64_t amount, std::string key, int64_t now_ms) {
  const std::string on = "the maturing of owner " + Str(owner_id) + "'s earnings";
  INFERIX_TRY(CheckId(owner_id, "the owner", on));
  INFERIX_TRY(CheckAmount(amount, "the amount", on));
  INFERIX_TRY(CheckKey(key, on));
  Posting p = NewPosting(PostingKind::kMature, std::move(key), now_ms,
                         Str(amount) + " micro-credits of earnings left the dispute window");
  p.entries = {{OwnerPending(owner_id), -amount}, {OwnerAvailable(owner_id), amount}};
  return p;
}

Result<Balances> Balances::FromPostings(const std::vector<Posting>& postings) {
  Balances b;
  std::set<std::string> keys;
  for (const Posting& p : postings) {
    if (!keys.insert(p.key).second) {
      return MakeError(Errc::kConflict,
                       "the ledger holds two postings with key \"" + p.key +
                           "\": a key books its event once; the store's unique key is missing");
    }
    INFERIX_TRY(b.Apply(p));
  }
  return b;
}

Result<void> Balances::Apply(const Posting& p) {
  INFERIX_TRY(CheckPosting(p));
  // Every new balance is computed before any is stored, so a refused posting changes nothing.
  std::vector<int64_t> after;
  after.reserve(p.entries.size());
  for (const Entry& e : p.entries) {
    int64_t sum = 0;
    if (!AddChecked(Of(e.account), e.amount, sum)) {
      return MakeError(Errc::kInvalidArgument, "posting \"" + p.key + "\" would take the balance of " +
                                                   ToString(e.account) + " past what an int64 holds");
    }
    after.push_back(sum);
  }
  for (size_t i = 0; i < p.entries.size(); ++i) balances_[p.entries[i].account] = after[i];
  return Ok();
}

int64_t Balances::Of(const Account& a) const {
  auto it = balances_.find(a);
  return it == balances_.end() ? 0 : it->second;
}

int64_t Balances::Total() const {
  // A 128-bit sum (a GCC and Clang extension, the project's compilers) cannot overflow over int64 balances,
  // so the answer does not depend on the order of the accounts.
  __int128 total = 0;
  for (const auto& [account, balance] : balances_) total += balance;
  if (total > kMax) return kMax;
  if (total < kMin) return kMin;
  return static_cast<int64_t>(total);
}

Result<void> CheckCovered(const Balances& balances, const Posting& p) {
  for (const Entry& e : p.entries) {
    // The operator's issuance is minus everything granted: the one account meant to go negative.
    if (e.amount >= 0 || e.account.kind == AccountKind::kIssued) continue;
    const int64_t balance = balances.Of(e.account);
    int64_t after = 0;
    if (!AddChecked(balance, e.amount, after) || after < 0) {
      return MakeError(Errc::kConflict, std::string(ToString(p.kind)) + " posting \"" + p.key + "\" takes " +
                                            Taken(e.amount) + " micro-credits from " + ToString(e.account) +
                                            ", which has " + Str(balance));
    }
  }
  return Ok();
}

Result<void> CanHold(const Balances& balances, int64_t user_id, int64_t price) {
  const int64_t available = balances.Of(UserAvailable(user_id));
  if (available >= price) return Ok();
  return MakeError(Errc::kConflict, "user " + Str(user_id) + " has " + Str(available) +
                                        " micro-credits available and the frame needs " + Str(price) +
                                        ": the user needs a grant of credits, or a lower price per frame");
}

Result<bool> ApplyOnce(Balances& balances, std::set<std::string>& seen_keys, const Posting& p) {
  if (seen_keys.count(p.key) > 0) return false;
  INFERIX_TRY(balances.Apply(p));
  seen_keys.insert(p.key);
  return true;
}

std::optional<int64_t> ParseCredits(std::string_view text) {
  const size_t dot = text.find('.');
  const std::string_view whole = text.substr(0, dot);
  const std::string_view decimals = dot == std::string_view::npos ? std::string_view() : text.substr(dot + 1);
  const auto digits = [](std::string_view s) {
    return s.find_first_not_of("0123456789") == std::string_view::npos;
  };
  if (whole.empty() && decimals.empty()) return std::nullopt;
  if (!digits(whole) || !digits(decimals) || decimals.size() > 6) return std::nullopt;
  if (dot != std::string_view::npos && decimals.empty()) return std::nullopt;  // "12." is a typo
  int64_t micro = 0;
  for (const char c : whole) {
    if (!MulChecked(micro, 10, micro) || !AddChecked(micro, c - '0', micro)) return std::nullopt;
  }
  if (!MulChecked(micro, kMicrocreditsPerCredit, micro)) return std::nullopt;
  int64_t fraction = 0;
  for (size_t i = 0; i < 6; ++i) fraction = fraction * 10 + (i < decimals.size() ? decimals[i] - '0' : 0);
  if (!AddChecked(micro, fraction, micro)) return std::nullopt;
  return micro;
}

std::string FormatCredits(int64_t micro) {
  const bool negative = micro < 0;
  // The magnitude as unsigned: INT64_MIN has none as int64_t.
  const uint64_t magnitude = negative ? 0U - static_cast<uint64_t>(micro) : static_cast<uint64_t>(micro);
  const auto per = static_cast<uint64_t>(kMicrocreditsPerCredit);
  std::string text = (negative ? "-" : "") + std::to_string(magnitude / per);
  if (const uint64_t fraction = magnitude % per; fraction != 0) {
    std::string digits = std::to_string(fraction);
    digits.insert(0, 6 - digits.size(), '0');
    digits.erase(digits.find_last_not_of('0') + 1);
    text += "." + digits;
  }
  return text;
}

}  // namespace inferix::domain
