package io.ringraft.testkit.sim;

import io.ringraft.engine.PlantedBug;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The simulator's checkers catch each deliberately planted protocol bug within the default seed
 * budget, and the failure names the seed, which replays it.
 */
final class PlantedBugTest
{
    private static final int SEED_BUDGET = 400;

    @ParameterizedTest(name = "{0} on {1} nodes")
    @CsvSource({
        "COMMIT_OLD_TERM_BY_COUNTING, 3, commit rule",
        "COMMIT_OLD_TERM_BY_COUNTING, 5, commit rule",
        "DOUBLE_VOTE, 3, election safety",
        "DOUBLE_VOTE, 5, election safety",
        "ACK_BEFORE_DURABLE, 3, durability",
        "ACK_BEFORE_DURABLE, 5, durability"
    })
    void isCaught(final PlantedBug bug, final int nodes, final String expectedViolation)
    {
        final Simulation simulation = new Simulation(new Simulation.Options().nodes(nodes).engineConfig(c -> c.plantedBug(bug)));
        final SimulationFailure failure = firstFailure(simulation);
        assertNotNull(failure, bug + " survived " + SEED_BUDGET + " seeds on " + nodes + " nodes");
        System.out.println(bug + " on " + nodes + " nodes caught at seed " + failure.seed() + ": " + failure.reason());
        assertTrue(failure.reason().startsWith(expectedViolation), "expected a " + expectedViolation + " violation: " +
            failure.reason());
        assertTrue(failure.getMessage().contains("seed " + failure.seed()), "the report names the seed");
        assertTrue(failure.trace().lines().count() >= 50, "the report carries the last events");

        try
        {
            simulation.run(failure.seed());
            fail("seed " + failure.seed() + " did not fail again on replay");
        }
        catch (final SimulationFailure replay)
        {
            assertEquals(failure.reason(), replay.reason());
            assertEquals(failure.trace(), replay.trace());
        }
    }

    private static SimulationFailure firstFailure(final Simulation simulation)
    {
        for (long seed = 1; seed <= SEED_BUDGET; seed++)
        {
            try
            {
                simulation.run(seed);
            }
            catch (final SimulationFailure failure)
            {
                assertEquals(seed, failure.seed());
                return failure;
            }
        }
        return null;
    }
}
