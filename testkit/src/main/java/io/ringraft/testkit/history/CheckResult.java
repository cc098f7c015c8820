package io.ringraft.testkit.history;

import java.util.Objects;

/**
 * The verdict of a linearizability check.
 *
 * @param outcome     the verdict over all keys
 * @param key         the key the verdict is about when it is not {@link Outcome#LINEARIZABLE}, else {@code null}
 * @param explanation a human-readable account of the verdict, for failure reports; never {@code null}
 */
public record CheckResult(Outcome outcome, String key, String explanation)
{
    /**
     * What a check concluded.
     */
    public enum Outcome
    {
        /** Every key has a linearization. */
        LINEARIZABLE,

        /** Some key has none: the store broke linearizability. */
        NOT_LINEARIZABLE,

        /** No key is proven non-linearizable, but the search budget ran out on some key before a verdict. */
        UNDECIDED
    }

    public CheckResult
    {
        Objects.requireNonNull(outcome, "outcome");
        Objects.requireNonNull(explanation, "explanation");
    }

    /**
     * @return true only if the history was proven linearizable; false when it was refuted or left undecided
     */
    public boolean isLinearizable()
    {
        return outcome == Outcome.LINEARIZABLE;
    }

    @Override
    public String toString()
    {
        return key == null ? outcome + ": " + explanation : outcome + " (key " + Operation.show(key) + "): " + explanation;
    }
}
