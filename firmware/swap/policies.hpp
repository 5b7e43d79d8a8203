// Constructors of the individual replacement policies, one per .cpp, with each policy's exact rules.
// make_policy (replacement.hpp) selects among them by configuration name.
//
// Conventions shared by all policies:
//  * "A" and "D" are the hardware Accessed/Dirty bits, read through PageBits; only the kernel clears D.
//  * Locked pages stay where they are in the policy's lists (keeping their age) and are skipped, never chosen.
//    A skipped locked page still counts in scanned(). Bits of locked pages are never read or cleared.
//  * The page that faulted in has A = 1 (hardware sets it on the retried access), so A-bit policies see it
//    as referenced once.
//  * No policy consumes randomness except random; all choices are deterministic functions of the events.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "firmware/swap/replacement.hpp"

namespace vmsim::fw {

// fifo: a queue in mapping order. Victim: the earliest-mapped unlocked page. Reads no bits; ignores
// on_access and sample().
std::unique_ptr<ReplacementPolicy> make_fifo_policy();

// lru (exact LRU): a recency list. on_map and on_access make the page most recent. Victim: the least
// recently used unlocked page.
// Information: with exact information this is true LRU. In a real run the kernel gives only faults and
// sample(): sample() moves every unlocked page whose A bit it finds set (and clears) to the most-recent
// end, keeping their relative order, so the order is LRU at sampling granularity. Without sampling it
// sees only faults and degenerates to FIFO. choose_victim reads no bits.
std::unique_ptr<ReplacementPolicy> make_lru_policy();

// clock (second chance): a ring in mapping order and a hand. A newly mapped page is inserted just behind
// the hand (it is the last page the next sweep reaches), exactly like the frame-based textbook clock where
// the new page takes the victim's frame and the hand has already moved past it. Victim search from the
// hand: locked -> skip; test_and_clear(A) was 1 -> second chance, advance; A was 0 -> victim, and the hand
// moves to the page after it. Terminates within two sweeps; if A bits keep being set concurrently, after
// two full sweeps the first unlocked page at the hand is taken. Ignores on_access and sample().
std::unique_ptr<ReplacementPolicy> make_clock_policy();

// eclock (enhanced clock, A/D classes; Stallings' four-pass form): same ring and hand as clock. Classes in
// order of preference: (A,D) = (0,0), (0,1), (1,0), (1,1). Passes, each one full sweep starting at the hand:
//   1. first page with A=0 and D=0; bits are only read (accessed(), then dirty() only if A=0);
//   2. first page with A=0 (test_and_clear(A)); every page passed over has its A cleared;
//   3. as pass 1; 4. as pass 2.
// After pass 2 every unlocked page has A=0, so pass 3 finds a clean page if one exists and pass 4 any page.
// The hand moves to the page after the victim. Fallback if A bits are set concurrently during all four
// passes: the first unlocked page at the hand. Ignores on_access and sample().
std::unique_ptr<ReplacementPolicy> make_eclock_policy();

// lfu: a reference count per resident page, starting at 0 on mapping (the faulting reference is not counted,
// which shifts every page equally) and discarded on unmap. +1 per on_access; +1 per sample() that finds
// (and clears) the page's A bit. Victim: the smallest count; ties -> the least recently referenced (time of
// the map, the last on_access, or the last sample that found A set); still tied -> the earliest mapped.
// Counts never decay, so pages that were hot long ago linger (the classic LFU weakness). choose_victim reads
// no bits; without exact information or sampling, every count is 0 and LFU degenerates to FIFO.
std::unique_ptr<ReplacementPolicy> make_lfu_policy();

// ws (Denning's working set, window tau): see WorkingSetPolicy in working_set.hpp for the rules.
std::unique_ptr<ReplacementPolicy> make_ws_policy(uint64_t tau);

// wsclock (Carr and Hennessy, as in Tanenbaum's MOS): clock's ring and hand plus a time of last use (TLU) per
// page, set to `now` on mapping. Victim search from the hand, one sweep:
//   locked -> skip;
//   test_and_clear(A) was 1 -> TLU = now (the page is in the working set), advance;
//   A=0 and the page is in the working set (now - TLU < tau) -> advance;
//   A=0, out of the working set, clean (D=0) -> victim (hand moves past it);
//   A=0, out of the working set, dirty -> PageBits::start_writeback(p) (once per page and search), advance.
// If the sweep found nothing and at least one write-back was started, one more sweep with the same rules
// (write-backs that completed meanwhile made their pages clean). If still nothing: the first clean unlocked
// page from the hand, else the unlocked page at the hand (dirty: the kernel writes it synchronously).
// Ignores on_access and sample(): it learns references only from A bits during the sweep.
std::unique_ptr<ReplacementPolicy> make_wsclock_policy(uint64_t tau);

// active_inactive (Linux-style two lists; each list's head is the most recent end, its tail the oldest).
// A page has a "referenced" flag (Linux PG_referenced) besides the hardware A bit.
//   on_map: head of inactive, referenced = 0.
//   choose_victim repeats up to three rounds of:
//     balance: while inactive * inactive_ratio < active, take the active tail: locked or
//              test_and_clear(A) was 1 -> rotate to the active head; A was 0 -> move to the inactive
//              head (referenced = 0). At most one visit per active page per round.
//     shrink:  visit inactive pages from the tail, at most as many as the list held when the shrink
//              began: locked -> rotate to the inactive head; test_and_clear(A) was 1 -> if referenced:
//              promote to the active head (referenced = 0) -- promotion on the second reference; else
//              referenced = 1 and rotate to the inactive head; A was 0 -> victim (it stays at the tail).
//   Fallback after three rounds (only if A bits are set concurrently): the first unlocked page from the
//   inactive tail, else from the active tail.
// No refault (shadow entry) tracking. Ignores on_access and sample(): Linux ages pages at reclaim time.
std::unique_ptr<ReplacementPolicy> make_active_inactive_policy(uint64_t inactive_ratio);

// opt (Belady's MIN), offline: constructed with the complete future reference string. It consumes one
// reference per on_map/on_access and checks that the driver's page matches the string (std::logic_error
// otherwise), so it needs exact information. Victim: the unlocked resident page whose next use is farthest
// in the future; a page never used again is infinitely far; ties (only among never-used-again pages) -> the
// earliest mapped. Reads no bits.
std::unique_ptr<ReplacementPolicy> make_opt_policy(std::vector<PageId> future);

// opt in a run (trace workloads): the pages are frames, and next_use(frame) answers, from the traces' known
// futures, how far in the future the frame is next referenced (UINT64_MAX: never). Victim: the unlocked
// resident frame with the largest answer; ties -> the earliest mapped. Asks next_use once per resident
// unlocked frame and choice (each counted as scanned). Reads no bits and ignores on_access.
std::unique_ptr<ReplacementPolicy> make_opt_run_policy(std::function<uint64_t(PageId)> next_use);

// random: the resident pages in a vector (mapping order, an unmapped page's slot is filled by the last
// page). Each choice draws x = splitmix64(state), state seeded with `seed`, and takes index x % size; if that
// page is locked, the next unlocked page after it (wrapping). Reads no bits.
std::unique_ptr<ReplacementPolicy> make_random_policy(uint64_t seed);

}  // namespace vmsim::fw
