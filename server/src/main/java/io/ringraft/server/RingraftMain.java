package io.ringraft.server;

import io.ringraft.testkit.sim.SimulatorMain;

import java.util.Arrays;

/**
 * The {@code ringraft} command. Each subcommand exits with status 0 on success, 1 when what it
 * checks fails, and 2 on bad usage, after one line that names the problem.
 */
public final class RingraftMain
{
    private static final String USAGE = String.join(System.lineSeparator(),
        "usage: ringraft <command> [args]",
        "commands:",
        "  simulate <seeds> [nodes=3] [firstSeed=1] [plantedBug=NONE]",
        "      run the deterministic simulator: random faults, invariants after every step, linearizability at the end");

    private RingraftMain()
    {
    }

    /**
     * @param args the command and its arguments
     */
    public static void main(final String[] args)
    {
        if (args.length == 0)
        {
            System.err.println(USAGE);
            System.exit(2);
        }
        final String[] rest = Arrays.copyOfRange(args, 1, args.length);
        switch (args[0])
        {
            case "simulate":
                SimulatorMain.main(rest);
                break;
            case "help":
            case "--help":
            case "-h":
                System.out.println(USAGE);
                break;
            default:
                System.err.println("ringraft: unknown command '" + args[0] + "'");
                System.err.println(USAGE);
                System.exit(2);
        }
    }
}
