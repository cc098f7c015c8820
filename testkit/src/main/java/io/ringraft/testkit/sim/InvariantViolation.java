package io.ringraft.testkit.sim;

/**
 * Thrown by the {@link InvariantChecker} the moment a safety property breaks; the cluster turns
 * it into a {@link SimulationFailure} with the seed and the trace.
 */
public final class InvariantViolation extends RuntimeException
{
    /**
     * @param message which property broke, on which node, with which entries
     */
    public InvariantViolation(final String message)
    {
        super(message);
    }
}
