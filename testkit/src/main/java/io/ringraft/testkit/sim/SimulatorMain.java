package io.ringraft.testkit.sim;

import io.ringraft.engine.PlantedBug;

import java.util.Locale;

/**
 * Runs the deterministic simulator from the command line:
 * {@code SimulatorMain <seeds> [clusterSize] [startSeed] [plantedBug]}. Prints a progress line
 * now and then and a summary; exits with status 1 at the first failing seed (printing the seed,
 * the node states and the last events) or if more than 2% of the seeds left the
 * linearizability check undecided. {@code -Dringraft.sim.membership=false} leaves out membership
 * changes (see {@link Simulation.Options#membershipChanges}); {@code -Dringraft.sim.legacyWorkload=true}
 * runs the workload from before leader transfers to chosen targets, membership churn and follower reads
 * (see {@link Simulation.Options#adminWorkload}), to replay a seed found then;
 * {@code -Dringraft.sim.runtime=true} runs the real runtime ({@link RuntimeSimNode}) instead of the bare engine;
 * {@code -Dringraft.sim.keepGoing=true} runs every seed and lists each failing one.
 */
public final class SimulatorMain
{
    private SimulatorMain()
    {
    }

    /**
     * @param args seed count, cluster size (default 3), first seed (default 1), planted bug (default NONE)
     */
    public static void main(final String[] args)
    {
        final String usage = "usage: SimulatorMain <seeds> [nodes=3] [firstSeed=1] [plantedBug=NONE] " +
            "(each after the first by position or as name=value)";
        if (args.length < 1 || args.length > 4)
        {
            System.err.println(usage);
            System.exit(2);
        }
        final String[] names = {"seeds", "nodes", "firstSeed", "plantedBug"};
        final String[] values = {null, "3", "1", "NONE"};
        for (int i = 0; i < args.length; i++)
        {
            final int eq = args[i].indexOf('=');
            int slot = i;
            if (eq > 0)
            {
                slot = java.util.Arrays.asList(names).indexOf(args[i].substring(0, eq));
                if (slot < 0)
                {
                    exitWith(args[i] + " is not an argument; " + usage);
                }
            }
            values[slot] = eq > 0 ? args[i].substring(eq + 1) : args[i];
        }
        final int seeds = (int)number(names[0], values[0], 1, Integer.MAX_VALUE);
        final int nodes = (int)number(names[1], values[1], 1, 9);
        final long startSeed = number(names[2], values[2], Long.MIN_VALUE, Long.MAX_VALUE);
        final PlantedBug bug = plantedBug(values[3]);
        final Simulation simulation = new Simulation(new Simulation.Options().nodes(nodes).engineConfig(c -> c.plantedBug(bug))
            .adminWorkload(!Boolean.getBoolean("ringraft.sim.legacyWorkload")));
        final SimulationStats stats = new SimulationStats();
        final boolean keepGoing = Boolean.getBoolean("ringraft.sim.keepGoing");
        int failures = 0;
        System.out.printf(Locale.ROOT, "ringraft simulator: %d seeds from %d, %s%s%n", seeds, startSeed, simulation.options(),
            bug == PlantedBug.NONE ? "" : ", planted bug " + bug);
        final long start = System.nanoTime();
        long lastReport = start;
        for (int i = 0; i < seeds; i++)
        {
            final long seed = startSeed + i;
            try
            {
                stats.add(simulation.run(seed));
            }
            catch (final SimulationFailure failure)
            {
                if (keepGoing)
                {
                    failures++;
                    System.out.println("FAILED seed " + seed + ": " + failure.reason());
                    continue;
                }
                System.out.println(stats.summary(System.nanoTime() - start));
                System.out.println("FAILED at seed " + seed);
                System.out.println(failure.getMessage());
                if (failure.getCause() != null)
                {
                    failure.getCause().printStackTrace(System.out);
                }
                System.out.println("replay: SimulatorMain 1 " + nodes + " " + seed + (bug == PlantedBug.NONE ? "" : " " + bug));
                System.exit(1);
            }
            final long now = System.nanoTime();
            if (now - lastReport > 5_000_000_000L || i == seeds - 1)
            {
                lastReport = now;
                System.out.println("progress: " + (i + 1) + "/" + seeds + "  " + stats.summary(now - start));
            }
        }
        System.out.println("summary: " + stats.summary(System.nanoTime() - start));
        if (failures > 0)
        {
            System.out.println("FAILED: " + failures + " of " + seeds + " seeds (listed above)");
            System.exit(1);
        }
        if (!stats.undecidedWithinLimit(0.02))
        {
            System.out.println("FAILED: too many seeds left the linearizability check undecided: " + stats.undecided() + " of " +
                stats.seeds() + ", first at seed " + stats.firstUndecidedSeed());
            System.exit(1);
        }
        System.out.println("OK");
    }

    private static PlantedBug plantedBug(final String value)
    {
        try
        {
            return PlantedBug.valueOf(value.toUpperCase(Locale.ROOT));
        }
        catch (final IllegalArgumentException ex)
        {
            exitWith("plantedBug=" + value + " must be one of " + java.util.Arrays.toString(PlantedBug.values()));
            return PlantedBug.NONE;
        }
    }

    private static long number(final String name, final String value, final long min, final long max)
    {
        if (value == null)
        {
            exitWith(name + " is required");
        }
        try
        {
            final long parsed = Long.parseLong(value.trim());
            if (parsed >= min && parsed <= max)
            {
                return parsed;
            }
        }
        catch (final NumberFormatException ex)
        {
            exitWith(name + "=" + value + " is not a number");
        }
        exitWith(name + "=" + value + " must be in " + min + ".." + max);
        return 0;
    }

    private static void exitWith(final String problem)
    {
        System.err.println("ringraft simulate: " + problem);
        System.exit(2);
    }
}
