#include "sync/records/merge_policy.h"

#include <algorithm>
#include <iterator>
#include <tuple>

#include <fmt/format.h>

namespace stationsync {
namespace {

bool HasDot(const std::vector<Element>& sorted, const Element& element) {
  return std::binary_search(sorted.begin(), sorted.end(), element, DotLess);
}

bool HasText(const std::vector<Element>& elements, const std::string& text) {
  return std::any_of(elements.begin(), elements.end(),
                     [&text](const Element& e) { return e.text == text; });
}

// Neither write had seen the other: `mine` is not in what the incoming state saw, and `theirs`
// not in what the local state saw.
bool Concurrent(const Stamp& mine, const Stamp& theirs, const Record& local,
                const Record& incoming) {
  return !Includes(incoming.seen, mine) && !Includes(local.seen, theirs);
}

// A merge in which one side's whole state wins (register, lifecycle): lists the other as a
// conflict when `conflicting`, and returns the winner when it is theirs.
std::optional<FieldState> KeepOneSide(const std::string& name, const FieldState* mine,
                                      const FieldState& theirs, bool theirs_wins, bool conflicting,
                                      const Record& local, MergeResult& result) {
  if (mine != nullptr && conflicting) {
    const FieldState& kept = theirs_wins ? theirs : *mine;
    const FieldState& lost = theirs_wins ? *mine : theirs;
    result.conflicts.push_back({local.table,
                                local.id,
                                name,
                                {kept.value, kept.stamp, kept.actor},
                                {lost.value, lost.stamp, lost.actor}});
  }
  if (!theirs_wins) return std::nullopt;
  result.history.changes.push_back({name, mine ? mine->value : Value{}, theirs.value});
  return theirs;
}

const FieldState& Newer(const FieldState* mine, const FieldState& theirs) {
  return mine != nullptr && mine->stamp > theirs.stamp ? *mine : theirs;
}

// Removals are kept per element and node: (text, node) order.
bool RemovalLess(const Element& a, const Element& b) {
  return std::tie(a.text, a.stamp.node) < std::tie(b.text, b.stamp.node);
}

// Each node's latest removal of each text in either list (both in RemovalLess order). A node's
// writes arrive in order, so whoever saw its latest removal of a text saw the earlier ones.
std::vector<Element> MergeRemovals(const std::vector<Element>& a, const std::vector<Element>& b) {
  std::vector<Element> out;
  size_t i = 0, j = 0;
  while (i < a.size() || j < b.size()) {
    if (j == b.size() || (i < a.size() && RemovalLess(a[i], b[j]))) {
      out.push_back(a[i++]);
    } else if (i == a.size() || RemovalLess(b[j], a[i])) {
      out.push_back(b[j++]);
    } else {
      out.push_back(a[i].stamp < b[j].stamp ? b[j] : a[i]);
      ++i, ++j;
    }
  }
  return out;
}

// Keeps what both sides' element states say survives (see the header), and lists as conflicts
// the elements that stay although a concurrent write removed them: a removal one side holds that
// the other had not seen, of a text the result holds through a dot that removal had not seen.
// (Had the remover seen the dot, it would have removed it; had the adder seen the removal, causal
// delivery would have brought the removal to both sides first.) Either order of arrival finds it.
std::vector<Element> MergeSetElements(const std::string& name, const FieldState* mine,
                                      const FieldState& theirs, const Record& local,
                                      const Record& incoming, MergeResult& result) {
  const std::vector<Element> ours =
      mine == nullptr ? std::vector<Element>{} : ElementsOf(MergePolicy::kSet, *mine);
  const std::vector<Element> their = ElementsOf(MergePolicy::kSet, theirs);
  std::vector<Element> out;
  for (const Element& e : ours) {
    if (HasDot(their, e) || !Includes(incoming.seen, e.stamp)) out.push_back(e);
  }
  for (const Element& e : their) {
    if (!HasDot(ours, e) && !Includes(local.seen, e.stamp)) out.push_back(e);
  }
  std::sort(out.begin(), out.end(), DotLess);

  // removals: one side's; remover_seen: that side's context; adder_seen: the other side's.
  auto find_concurrent = [&](const std::vector<Element>& removals,
                             const VersionVector& remover_seen, const VersionVector& adder_seen) {
    for (const Element& removal : removals) {
      if (Includes(adder_seen, removal.stamp)) continue;
      for (const Element& kept : out) {
        if (kept.text != removal.text || Includes(remover_seen, kept.stamp)) continue;
        result.conflicts.push_back({local.table,
                                    local.id,
                                    name,
                                    {Value(kept.text), kept.stamp, kept.actor},
                                    {Value{}, removal.stamp, removal.actor}});
        break;  // one conflict per removal and element
      }
    }
  };
  if (mine != nullptr) find_concurrent(mine->removed, local.seen, incoming.seen);
  find_concurrent(theirs.removed, incoming.seen, local.seen);
  return out;
}

std::vector<Element> MergeAppendElements(const FieldState* mine, const FieldState& theirs) {
  const std::vector<Element> ours =
      mine == nullptr ? std::vector<Element>{} : ElementsOf(MergePolicy::kAppend, *mine);
  const std::vector<Element> their = ElementsOf(MergePolicy::kAppend, theirs);
  std::vector<Element> out;
  std::set_union(ours.begin(), ours.end(), their.begin(), their.end(), std::back_inserter(out),
                 DotLess);
  return out;
}

std::optional<FieldState> MergeElements(MergePolicy policy, const std::string& name,
                                        const FieldState* mine, const FieldState& theirs,
                                        const Record& local, const Record& incoming,
                                        MergeResult& result) {
  if (mine != nullptr && *mine == theirs) return std::nullopt;
  const FieldState& newer = Newer(mine, theirs);
  FieldState out{Value{}, newer.stamp, newer.actor};
  if (policy == MergePolicy::kSet) {
    out.elements = MergeSetElements(name, mine, theirs, local, incoming, result);
    out.removed =
        MergeRemovals(mine == nullptr ? std::vector<Element>{} : mine->removed, theirs.removed);
  } else {
    out.elements = MergeAppendElements(mine, theirs);
  }
  out.value = ValueOfElements(policy, out.elements);
  if (mine != nullptr && out == *mine) return std::nullopt;
  const Value old = mine == nullptr ? Value{} : mine->value;
  if (out.value != old) {
    result.history.changes.push_back({name, old, out.value, AddedElements(policy, mine, out)});
  }
  return out;
}

// The stage of a lifecycle value: its place in the enum's declared order (null: before all).
int Stage(const FieldSpec* spec, const Value& value) {
  const auto* text = std::get_if<std::string>(&value);
  if (spec == nullptr || text == nullptr) return -1;
  const auto it = std::find(spec->choices.begin(), spec->choices.end(), *text);
  return static_cast<int>(it - spec->choices.begin());
}

std::optional<FieldState> MergeLifecycle(const FieldSpec* spec, const std::string& name,
                                         const FieldState* mine, const FieldState& theirs,
                                         const Record& local, const Record& incoming,
                                         MergeResult& result) {
  if (mine != nullptr && mine->stamp == theirs.stamp) return std::nullopt;  // the same write
  auto rank = [spec](const FieldState& s) {
    return std::make_tuple(s.epoch, Stage(spec, s.value), s.stamp);
  };
  const bool theirs_wins = mine == nullptr || rank(theirs) > rank(*mine);
  // Concurrent writes of one epoch keep the furthest stage by meaning; across epochs, a reopen
  // met a write it had not seen.
  const bool conflicting = mine != nullptr && mine->epoch != theirs.epoch &&
                           Concurrent(mine->stamp, theirs.stamp, local, incoming);
  return KeepOneSide(name, mine, theirs, theirs_wins, conflicting, local, result);
}

}  // namespace

bool DotLess(const Element& a, const Element& b) {
  return std::tie(a.stamp, a.text) < std::tie(b.stamp, b.text);
}

std::vector<Element> ElementsOf(MergePolicy policy, const FieldState& state) {
  if (!state.elements.empty() || IsNull(state.value)) return state.elements;
  std::vector<Element> legacy;
  if (const auto* list = std::get_if<std::vector<std::string>>(&state.value)) {
    for (const std::string& text : *list) {
      if (policy == MergePolicy::kSet && HasText(legacy, text)) continue;
      legacy.push_back({text, state.stamp, state.actor});
    }
  } else if (const auto* text = std::get_if<std::string>(&state.value)) {
    legacy.push_back({*text, state.stamp, state.actor});
  }
  std::sort(legacy.begin(), legacy.end(), DotLess);
  return legacy;
}

Value ValueOfElements(MergePolicy policy, const std::vector<Element>& elements) {
  if (elements.empty()) return Value{};
  if (policy == MergePolicy::kAppend) {
    std::string text;
    for (const Element& e : elements) text += e.text;
    return Value(std::move(text));
  }
  std::vector<std::string> texts;
  for (const Element& e : elements) {
    if (std::find(texts.begin(), texts.end(), e.text) == texts.end()) texts.push_back(e.text);
  }
  return Value(std::move(texts));
}

std::vector<Element> AddedElements(MergePolicy policy, const FieldState* before,
                                   const FieldState& after) {
  if (policy != MergePolicy::kSet && policy != MergePolicy::kAppend) return {};
  const std::vector<Element> had =
      before == nullptr ? std::vector<Element>{} : ElementsOf(policy, *before);
  std::vector<Element> added;
  for (const Element& e : ElementsOf(policy, after)) {
    if (!HasDot(had, e)) added.push_back(e);
  }
  return added;
}

std::optional<FieldState> MergeRegister(const std::string& name, const FieldState* mine,
                                        const FieldState& theirs, const Record& local,
                                        const Record& incoming, MergeResult& result) {
  if (mine != nullptr && mine->stamp == theirs.stamp) return std::nullopt;  // the same write
  const bool theirs_wins = mine == nullptr || theirs.stamp > mine->stamp;
  const bool conflicting =
      mine != nullptr && Concurrent(mine->stamp, theirs.stamp, local, incoming);
  return KeepOneSide(name, mine, theirs, theirs_wins, conflicting, local, result);
}

std::optional<FieldState> MergeField(MergePolicy policy, const std::string& name,
                                     const FieldState* mine, const FieldState& theirs,
                                     const Record& local, const Record& incoming,
                                     MergeResult& result) {
  switch (policy) {
    case MergePolicy::kSet:
    case MergePolicy::kAppend:
      return MergeElements(policy, name, mine, theirs, local, incoming, result);
    case MergePolicy::kLifecycle:
      return MergeLifecycle(TableSchema::Of(local.table).Find(name), name, mine, theirs, local,
                            incoming, result);
    case MergePolicy::kRegister:
      break;
  }
  return MergeRegister(name, mine, theirs, local, incoming, result);
}

Result<FieldState> WrittenField(const FieldSpec& spec, const FieldState* current, Value value,
                                const Stamp& stamp, std::string_view actor) {
  FieldState out{std::move(value), stamp, std::string(actor)};
  switch (spec.merge) {
    case MergePolicy::kRegister:
      return out;
    case MergePolicy::kLifecycle: {
      if (current == nullptr) return out;
      const bool reopen = Stage(&spec, out.value) < Stage(&spec, current->value);
      if (reopen && current->epoch >= kReopensMax) {
        return Invalid(fmt::format("field {}: reopened {} times already", spec.name, kReopensMax));
      }
      out.epoch = current->epoch + (reopen ? 1 : 0);
      return out;
    }
    case MergePolicy::kSet: {
      std::vector<Element> had =
          current == nullptr ? std::vector<Element>{} : ElementsOf(spec.merge, *current);
      const auto* wanted = std::get_if<std::vector<std::string>>(&out.value);
      std::vector<Element> removals;
      for (const Element& e : had) {
        if (wanted != nullptr &&
            std::find(wanted->begin(), wanted->end(), e.text) != wanted->end()) {
          out.elements.push_back(e);  // kept: keeps its dot
        } else {
          removals.push_back({e.text, stamp, std::string(actor)});
        }
      }
      std::sort(removals.begin(), removals.end(), RemovalLess);
      removals.erase(std::unique(removals.begin(), removals.end()), removals.end());
      out.removed =
          MergeRemovals(current == nullptr ? std::vector<Element>{} : current->removed, removals);
      if (wanted != nullptr) {
        for (const std::string& text : *wanted) {
          if (!HasText(out.elements, text))
            out.elements.push_back({text, stamp, std::string(actor)});
        }
      }
      std::sort(out.elements.begin(), out.elements.end(), DotLess);
      out.value = ValueOfElements(spec.merge, out.elements);
      return out;
    }
    case MergePolicy::kAppend: {
      std::vector<Element> had =
          current == nullptr ? std::vector<Element>{} : ElementsOf(spec.merge, *current);
      const Value held = ValueOfElements(spec.merge, had);
      const std::string held_text = IsNull(held) ? "" : std::get<std::string>(held);
      const auto* text = std::get_if<std::string>(&out.value);
      const std::string_view written = text == nullptr ? std::string_view() : *text;
      if (!written.starts_with(held_text)) {
        return Invalid(fmt::format(
            "field {}: is append-only; the write would remove or change its earlier text "
            "(write the current text followed by what you add)",
            spec.name));
      }
      out.elements = std::move(had);
      if (written.size() > held_text.size()) {
        out.elements.push_back(
            {std::string(written.substr(held_text.size())), stamp, std::string(actor)});
      }
      out.value = ValueOfElements(spec.merge, out.elements);
      return out;
    }
  }
  return out;
}

Status CheckPolicyState(const FieldSpec& spec, const FieldState& state) {
  if (state.epoch != 0 && spec.merge != MergePolicy::kLifecycle) {
    return Invalid(fmt::format("field {}: counts reopens but is not a lifecycle", spec.name));
  }
  if (state.epoch > kReopensMax) {  // else a hostile count could wrap and outrank every reopen
    return Invalid(fmt::format("field {}: more than {} reopens", spec.name, kReopensMax));
  }
  for (size_t i = 0; i < state.removed.size(); ++i) {
    if (spec.merge != MergePolicy::kSet) {
      return Invalid(fmt::format("field {}: has removals but is not a set field", spec.name));
    }
    if (i > 0 && !RemovalLess(state.removed[i - 1], state.removed[i])) {
      return Invalid(fmt::format("field {}: removals are not sorted and unique", spec.name));
    }
    if (state.stamp < state.removed[i].stamp) {
      return Invalid(fmt::format("field {}: a removal is newer than the field", spec.name));
    }
  }
  if (state.elements.empty()) return Status::Ok();
  if (spec.merge != MergePolicy::kSet && spec.merge != MergePolicy::kAppend) {
    return Invalid(
        fmt::format("field {}: has elements but is not a set or append field", spec.name));
  }
  for (size_t i = 0; i < state.elements.size(); ++i) {
    if (i > 0 && !DotLess(state.elements[i - 1], state.elements[i])) {
      return Invalid(fmt::format("field {}: elements are not sorted and unique", spec.name));
    }
    if (state.stamp < state.elements[i].stamp) {
      return Invalid(fmt::format("field {}: an element is newer than the field", spec.name));
    }
    if (state.elements[i].text.empty()) {
      return Invalid(fmt::format("field {}: an element is empty", spec.name));
    }
  }
  if (ValueOfElements(spec.merge, state.elements) != state.value) {
    return Invalid(fmt::format("field {}: the value is not the one its elements give", spec.name));
  }
  return Status::Ok();
}

}  // namespace stationsync
