package io.ringraft.testkit.history;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Decides whether a {@link History} of single-key operations is linearizable against a key-value store in
 * which every key is a register, initially absent.
 * <p>
 * Rules the check applies:
 * <ul>
 *   <li>{@link Operation.Status#OK} ops take effect exactly once, at an instant within {@code [invoke, complete]},
 *   both ends included: an op invoked at the very instant another completed is concurrent with it.</li>
 *   <li>{@link Operation.Status#FAIL} ops took no effect and are ignored.</li>
 *   <li>{@link Operation.Status#UNKNOWN} and {@link Operation.Status#PENDING} ops may take effect at any instant
 *   after their invocation, or never; their results are unknown, so reads among them constrain nothing.</li>
 * </ul>
 * Keys are checked one at a time (sound because every op touches one key) by Wing and Gong's search with
 * Lowe's memoization of visited (linearized set, register value) pairs, as in Porcupine and Knossos, plus two
 * prunings that never lose a linearization: a read that can take effect now does, and a write whose value no
 * op reads only takes effect just before another write or when its completion is due.
 * <p>
 * The search is exponential in the worst case, hence the budget. A step examines one call or return of the
 * key's history; every step may add one visited state to memory, of about {@code 48 + ops / 8} bytes.
 */
public final class LinearizabilityChecker
{
    private LinearizabilityChecker()
    {
    }

    /**
     * Checks every key of the history separately, in the order keys first appear.
     *
     * @param history           the history to check; it is not modified
     * @param budgetStepsPerKey the most search steps to spend on any one key, {@code > 0}; linearizable
     *                          histories of thousands of ops typically need tens to hundreds of steps per op
     * @return {@link CheckResult.Outcome#NOT_LINEARIZABLE} naming a key that has no linearization if there is one;
     * else {@link CheckResult.Outcome#UNDECIDED} naming a key whose budget ran out if there is one;
     * else {@link CheckResult.Outcome#LINEARIZABLE}
     */
    public static CheckResult check(final History history, final long budgetStepsPerKey)
    {
        if (budgetStepsPerKey <= 0)
        {
            throw new IllegalArgumentException("budgetStepsPerKey must be > 0: " + budgetStepsPerKey);
        }
        final Map<String, List<Operation>> byKey = new LinkedHashMap<>();
        final List<Operation> ops = history.operations();
        for (final Operation op : ops)
        {
            byKey.computeIfAbsent(op.key(), k -> new ArrayList<>()).add(op);
        }

        CheckResult undecided = null;
        for (final Map.Entry<String, List<Operation>> e : byKey.entrySet())
        {
            CheckResult result;
            try
            {
                result = KeySearch.of(e.getKey(), e.getValue()).run(budgetStepsPerKey);
            }
            catch (final OutOfMemoryError oom)
            {
                // The search's states are garbage once it unwinds: say so rather than lose the whole check.
                result = new CheckResult(CheckResult.Outcome.UNDECIDED, e.getKey(), "the search for key " + e.getKey() + " (" +
                    e.getValue().size() + " ops) ran out of memory at " + (Runtime.getRuntime().maxMemory() >> 20) +
                    " MiB of heap: give the JVM more (-Xmx) to decide it");
            }
            if (result.outcome() == CheckResult.Outcome.NOT_LINEARIZABLE)
            {
                return result;
            }
            if (result.outcome() == CheckResult.Outcome.UNDECIDED && undecided == null)
            {
                undecided = result;
            }
        }
        if (undecided != null)
        {
            return undecided;
        }
        return new CheckResult(
            CheckResult.Outcome.LINEARIZABLE, null, byKey.size() + " keys, " + ops.size() + " ops: all linearizable");
    }
}
