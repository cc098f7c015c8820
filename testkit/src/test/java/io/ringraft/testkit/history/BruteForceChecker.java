package io.ringraft.testkit.history;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * A test oracle: decides linearizability of a few ops on one key by trying every order, with none of the
 * checker's machinery (no entry list, no cache, no pruning).
 */
final class BruteForceChecker
{
    private BruteForceChecker()
    {
    }

    /**
     * @param history ops on a single key, a handful of them
     * @return true if some order of them respects real time and the register semantics
     */
    static boolean isLinearizable(final History history)
    {
        final List<Operation> ops = new ArrayList<>();
        for (final Operation op : history.operations())
        {
            if (op.status() != Operation.Status.FAIL)
            {
                ops.add(op);
            }
        }
        return search(ops, new boolean[ops.size()], null);
    }

    private static boolean search(final List<Operation> ops, final boolean[] done, final String value)
    {
        long deadline = Long.MAX_VALUE;
        boolean anyOk = false;
        for (int i = 0; i < ops.size(); i++)
        {
            if (!done[i] && ops.get(i).status() == Operation.Status.OK)
            {
                anyOk = true;
                deadline = Math.min(deadline, ops.get(i).completeTime());
            }
        }
        if (!anyOk)
        {
            return true;
        }
        for (int i = 0; i < ops.size(); i++)
        {
            final Operation op = ops.get(i);
            if (done[i] || op.invokeTime() > deadline)
            {
                continue;
            }
            done[i] = true;
            final boolean ok = op.status() == Operation.Status.OK;
            if (!ok && search(ops, done, value))
            {
                return true;
            }
            final String[] next = step(op, value, ok);
            if (next != null && search(ops, done, next[0]))
            {
                return true;
            }
            done[i] = false;
        }
        return false;
    }

    /** @return a one-element array holding the value after op, or null if op cannot happen now */
    private static String[] step(final Operation op, final String value, final boolean ok)
    {
        switch (op.kind())
        {
            case PUT:
                return new String[]{op.value()};
            case DELETE:
                return new String[]{null};
            case GET:
                return !ok || Objects.equals(op.result(), value) ? new String[]{value} : null;
            default:
                final boolean swaps = Objects.equals(op.expected(), value);
                if (!ok)
                {
                    return new String[]{swaps ? op.value() : value};
                }
                if (swaps != "true".equals(op.result()))
                {
                    return null;
                }
                return new String[]{swaps ? op.value() : value};
        }
    }
}
