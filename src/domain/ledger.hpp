#pragma once
// The credits ledger's pure part (issue #18): double-entry postings, the builders that make each kind of
// posting, and balances derived from postings. No store, no clock: times and balances are parameters.
//
// Every movement of credits is a Posting: a set of entries whose amounts sum to exactly zero, so credits are
// never created or lost, only moved. Credits enter the system from the operator's kIssued account, whose
// balance is minus everything granted; so the sum over all accounts is always exactly zero, and any drift
// from zero is a bug that Balances::Total() shows at once. Balances are never stored as such: they are the
// sums of the entries of the postings applied, so the postings are the whole truth and balances can be
// rebuilt.
//
// Amounts are int64_t micro-credits (1 credit = 1,000,000): integers, never floating point. Arithmetic on
// them is checked for overflow; an amount that would overflow is refused rather than wrapped.
//
// Each posting carries an idempotency key, unique over the ledger (the store's unique key): booking the same
// event twice (a retried request, a manager restarted in the middle of a step) books it once. The caller
// names the event in the key, for example "hold:job:12:frame:5:task:40" or "earn:output:77".
#include <compare>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.hpp"

namespace inferix::domain {

/// Micro-credits in one credit.
inline constexpr int64_t kMicrocreditsPerCredit = 1'000'000;
/// Parts per million: the unit of a FeeSchedule's shares.
inline constexpr int64_t kPartsPerMillion = 1'000'000;

/// What an account holds.
enum class AccountKind {
  kUserAvailable,      ///< a user's spendable credits
  kUserHeld,           ///< a user's credits held in escrow for dispatched frames
  kOwnerPending,       ///< a node owner's earnings still inside the dispute window (a forfeit can take them)
  kOwnerAvailable,     ///< a node owner's earnings after the dispute window
  kNetworkFees,        ///< the network's fees, and the share of nodes nobody owns
  kVerificationCosts,  ///< the share of each price that pays for verification
  kIssued,  ///< the operator's source of credits: minus everything granted; the only negative account
};

/// Name used in the API and the database ("user_available", "owner_pending", "network_fees", "issued", ...).
std::string_view ToString(AccountKind k);
/// The AccountKind named `s` (as ToString writes it), or nullopt.
std::optional<AccountKind> ParseAccountKind(std::string_view s);
/// True for the operator's accounts (network fees, verification costs, issued), which belong to no user.
bool IsNetworkAccount(AccountKind k);

/// One account: a kind and, for users' and owners' accounts, the user id (an owner is a user, issue #17).
/// The operator's accounts have owner_id 0; every other account has a positive owner_id.
struct Account {
  AccountKind kind = AccountKind::kUserAvailable;
  int64_t owner_id = 0;
  auto operator<=>(const Account&) const = default;
};

/// A user's spendable credits.
inline Account UserAvailable(int64_t user_id) { return {AccountKind::kUserAvailable, user_id}; }
/// A user's credits in escrow.
inline Account UserHeld(int64_t user_id) { return {AccountKind::kUserHeld, user_id}; }
/// An owner's earnings inside the dispute window.
inline Account OwnerPending(int64_t owner_id) { return {AccountKind::kOwnerPending, owner_id}; }
/// An owner's earnings after the dispute window.
inline Account OwnerAvailable(int64_t owner_id) { return {AccountKind::kOwnerAvailable, owner_id}; }
/// The network's fees.
inline Account NetworkFees() { return {AccountKind::kNetworkFees, 0}; }
/// The verification costs.
inline Account VerificationCosts() { return {AccountKind::kVerificationCosts, 0}; }
/// The operator's source of credits.
inline Account Issued() { return {AccountKind::kIssued, 0}; }
/// For messages and logs: "user_available:12", or "network_fees" for the operator's accounts.
std::string ToString(const Account& a);

/// One line of a posting: `amount` micro-credits to `account` (positive: credited to it; negative: debited).
struct Entry {
  Account account = {};
  int64_t amount = 0;
  bool operator==(const Entry&) const = default;
};

/// Why credits moved. An enum rather than free text, so that every kind is handled (exhaustive switches) and
/// a typo cannot invent a kind; the store keeps ToString's name.
enum class PostingKind {
  kGrant,    ///< the operator grants a user credits (kIssued -> user available)
  kHold,     ///< a frame is dispatched: its price goes into escrow (user available -> user held)
  kEarn,     ///< a frame's output was accepted or trusted: the escrow pays the owner and the fees
  kRelease,  ///< a hold no longer needed (job canceled, frame not rendered) goes back (held -> available)
  kRefund,   ///< a frame that failed on every worker: its hold goes back (held -> available)
  kForfeit,  ///< a banned worker's owner's pending earnings go to the users whose frames it faked
  kMature,   ///< an owner's earnings leave the dispute window (owner pending -> owner available)
};

/// Name used in the API and the database ("grant", "hold", "earn", "release", "refund", "forfeit", "mature").
std::string_view ToString(PostingKind k);
/// The PostingKind named `s` (as ToString writes it), or nullopt.
std::optional<PostingKind> ParsePostingKind(std::string_view s);

/// One movement of credits: balanced entries, booked once under `key`.
struct Posting {
  std::string key;  ///< idempotency key, unique over the ledger, e.g. "hold:job:12:frame:5:task:40"
  PostingKind kind = PostingKind::kGrant;
  int64_t job_id = 0;   ///< the job the frame belongs to (hold, earn, release, refund); 0 otherwise
  int frame = 0;        ///< the frame (hold, earn, release, refund); 0 otherwise
  int64_t node_id = 0;  ///< the node that rendered it (earn) or was banned (forfeit); 0 otherwise
  int64_t created_ms = 0;
  std::string memo;  ///< for people: what happened, in words (the builders write one; callers may replace it)
  std::vector<Entry> entries;
};

/// Checks what every posting must be: a non-empty key, at least two entries, no zero amount, no account
/// twice, each account well formed (operator's accounts owned by 0, the others by a positive id), and
/// balanced (the amounts sum to exactly zero; a posting whose credits or debits alone overflow int64 is
/// refused). kInvalidArgument naming the posting's key and what is wrong.
Result<void> CheckPosting(const Posting& p);

/// The shares of a frame's price that do not go to the node's owner, in parts per million of the price.
struct FeeSchedule {
  int64_t network_ppm = 0;       ///< to kNetworkFees
  int64_t verification_ppm = 0;  ///< to kVerificationCosts
};

/// Checks a fee schedule: each share in [0, 1,000,000] and both together at most the whole price.
Result<void> CheckFeeSchedule(const FeeSchedule& fees);

/// How an Earn splits a price; the parts sum to exactly `price`.
struct EarnShares {
  int64_t owner = 0;         ///< what is left after the fees: the rounding remainder lands here
  int64_t network = 0;       ///< floor(price * network_ppm / 1,000,000)
  int64_t verification = 0;  ///< floor(price * verification_ppm / 1,000,000)
};

/// Splits `price` (>= 0) by `fees` (checked by CheckFeeSchedule): each fee is rounded down and the owner gets
/// the remainder, so the owner receives at most 2 micro-credits more than the exact share, never less, and
/// the parts sum to the price exactly. Exact for every int64 price (no intermediate overflow).
EarnShares SplitPrice(int64_t price, const FeeSchedule& fees);

/// The operator grants `user_id` `amount` micro-credits: kIssued -amount, the user's available +amount.
Result<Posting> Grant(int64_t user_id, int64_t amount, std::string key, int64_t now_ms);

/// Frame `frame` of job `job_id` is dispatched: its `price` moves from the user's available credits into
/// escrow. Whether the user has enough is the caller's check, against balances (CanHold).
Result<Posting> Hold(int64_t user_id, int64_t job_id, int frame, int64_t price, std::string key,
                     int64_t now_ms);

/// The output of frame `frame` of job `job_id`, rendered by node `node_id` of owner `owner_id`, was accepted
/// or trusted: its `price` leaves the user's escrow; the owner's pending earnings get the price minus the
/// fees (SplitPrice), kNetworkFees and kVerificationCosts their shares. `owner_id` 0 (a node nobody owns):
/// the owner's share goes to kNetworkFees. A share of zero is left out of the entries (no zero amounts).
Result<Posting> Earn(int64_t user_id, int64_t owner_id, int64_t node_id, int64_t job_id, int frame,
                     int64_t price, const FeeSchedule& fees, std::string key, int64_t now_ms);

/// A hold that is no longer needed goes back to the user's available credits: the job was canceled, or the
/// frame will not be rendered. A rejected output's hold is not released: it stays in escrow for the frame's
/// re-render, which the user still gets for that price.
Result<Posting> Release(int64_t user_id, int64_t job_id, int frame, int64_t amount, std::string key,
                        int64_t now_ms);

/// A frame that failed on every worker: its hold goes back to the user's available credits. The same movement
/// as Release; a kind of its own so that the books show which frames failed.
Result<Posting> Refund(int64_t user_id, int64_t job_id, int frame, int64_t amount, std::string key,
                       int64_t now_ms);

/// One user a banned worker cheated, and what they get back.
struct Victim {
  int64_t user_id = 0;
  int64_t amount = 0;
};

/// Node `node_id` of owner `owner_id` was banned: the owner's pending earnings pay back `victims`, the users
/// whose frames it faked (two victims with one user id are merged into one entry). A node nobody owns
/// (owner_id 0) is refused: its shares went to the network's fees, and giving them back is the operator's
/// decision (a Grant). Whether the owner's pending earnings cover the total is the caller's check
/// (CheckCovered).
Result<Posting> Forfeit(int64_t owner_id, int64_t node_id, const std::vector<Victim>& victims,
                        std::string key, int64_t now_ms);

/// `amount` of owner `owner_id`'s earnings left the dispute window: pending -> available.
Result<Posting> Mature(int64_t owner_id, int64_t amount, std::string key, int64_t now_ms);

/// Balances derived from postings: each account's balance is the sum of its entries.
class Balances {
 public:
  Balances() = default;
  /// Balances summed elsewhere (a store's sums of its entries), as they are: for CheckCovered.
  explicit Balances(std::map<Account, int64_t> known) : balances_(std::move(known)) {}

  /// Balances of `postings`, each checked (CheckPosting) and applied in order. A list read from the store
  /// holds each key once; two postings with one key are refused with kConflict, as the store's unique key
  /// would.
  static Result<Balances> FromPostings(const std::vector<Posting>& postings);

  /// Adds `p`'s entries: refused, and nothing changed, when `p` fails CheckPosting or a balance would
  /// overflow int64. Does not look at keys (ApplyOnce does) or at funds (CheckCovered does).
  Result<void> Apply(const Posting& p);

  /// The balance of `a`: 0 for an account no posting touched.
  int64_t Of(const Account& a) const;

  /// The sum over all accounts: exactly 0 while every posting applied is balanced. Computed without overflow;
  /// a sum outside int64 (which balanced postings cannot make) is clamped, so it is never 0 by accident.
  int64_t Total() const;

  /// Every account a posting touched, with its balance (0 included), in Account order.
  const std::map<Account, int64_t>& All() const { return balances_; }

 private:
  std::map<Account, int64_t> balances_;
};

/// Checks that `balances` cover `p`: every account `p` debits, except kIssued, keeps a balance >= 0 after it.
/// kConflict naming the account, its balance and what the posting takes. With this check before each Apply,
/// no account but kIssued ever goes negative.
Result<void> CheckCovered(const Balances& balances, const Posting& p);

/// Checks that `user_id` has `price` available for a hold (Hold); kConflict naming what is available and what
/// is needed otherwise.
Result<void> CanHold(const Balances& balances, int64_t user_id, int64_t price);

/// Applies `p` once per key, as a store with a unique key on postings would: a key in `seen_keys` changes
/// nothing and answers false; otherwise `p` is applied (Balances::Apply, its errors returned), its key added
/// to `seen_keys`, and the answer is true. A replay is not compared with the first posting of its key: the
/// key names the event, so the first booking of it stands.
Result<bool> ApplyOnce(Balances& balances, std::set<std::string>& seen_keys, const Posting& p);

/// Credits as people write them ("12", "12.5", "0.000001") as micro-credits; nullopt for anything else: a
/// sign, more than six decimals, no digits, an amount beyond int64. Zero parses (the caller decides).
std::optional<int64_t> ParseCredits(std::string_view text);
/// Micro-credits as credits, exactly and shortest: 12500000 -> "12.5", 3 -> "0.000003", -2000000 -> "-2".
std::string FormatCredits(int64_t micro);

}  // namespace inferix::domain
