// A signal channel without delta delay, for binding the Verilated TLB's ports: a write is visible at
// once, and the channels of one side share one event that the writer notifies once per clock phase
// (instead of an update and an event per sc_signal). The wrapper owns all writes to the inputs and the
// Verilated model all writes to the outputs, so there is exactly one writer per wire.
#pragma once

#include <systemc>

namespace vmsim::rtl {

template <class T>
class WireBase : public sc_core::sc_prim_channel, public sc_core::sc_signal_inout_if<T> {
 public:
  // `changed` is notified by the owner of the wire after it writes (never by the wire itself).
  WireBase(const char* name, const sc_core::sc_event& changed) : sc_core::sc_prim_channel(name), m_changed(changed) {}

  void write(const T& v) override { m_value = v; }
  const T& read() const override { return m_value; }
  const T& get_data_ref() const override { return m_value; }
  const sc_core::sc_event& value_changed_event() const override { return m_changed; }
  const sc_core::sc_event& default_event() const override { return m_changed; }
  // No per-wire event history: nothing here asks for it.
  bool event() const override { return false; }

 private:
  T m_value{};
  const sc_core::sc_event& m_changed;
};

template <class T>
class Wire final : public WireBase<T> {
 public:
  using WireBase<T>::WireBase;
};

template <>
class Wire<bool> final : public WireBase<bool> {
 public:
  using WireBase<bool>::WireBase;
  const sc_core::sc_event& posedge_event() const override { return value_changed_event(); }
  const sc_core::sc_event& negedge_event() const override { return value_changed_event(); }
  bool posedge() const override { return false; }
  bool negedge() const override { return false; }
};

}  // namespace vmsim::rtl
