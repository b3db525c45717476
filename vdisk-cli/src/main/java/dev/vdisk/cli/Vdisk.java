package dev.vdisk.cli;

import net.openhft.posix.PosixAPI;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code vdisk} command: one subcommand per job a person runs by hand. */
@Command(
    name = "vdisk",
    mixinStandardHelpOptions = true,
    versionProvider = Vdisk.Version.class,
    description =
        "Virtual disks for virtual machines: serve disks to VMMs (vhost-user, QEMU's PCI proxy, NBD,"
            + " ImDisk proxy), probe memory dumps for RAM disks, inspect and copy disks.")
public final class Vdisk implements Runnable {

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  public static void main(String[] args) {
    System.exit(run(args));
  }

  /** Runs the command line and returns the exit status (tests call this instead of main). */
  public static int run(String... args) {
    // Chronicle's usage analytics must never phone home, whatever the launcher set.
    System.setProperty("chronicle.analytics.disable", "true");
    // Chronicle's Jvm class initialiser preloads its POSIX binding (JNR, which generates code at
    // run time): 0.3 s of CPU before the first byte moves, for calls vdisk never makes (its own
    // native calls go through JNA). Unit tests already run without it (Chronicle skips the preload
    // under JUnit).
    PosixAPI.useNoOpPosixApi();
    return commandLine().execute(args);
  }

  /** The command tree; each subcommand is registered here. */
  public static CommandLine commandLine() {
    CommandLine cl = new CommandLine(new Vdisk());
    // Subcommands (one line each, keep sorted by name):
    cl.addSubcommand("attach-qemu", new AttachQemuCommand());
    cl.addSubcommand("copy", new CopyCommand());
    cl.addSubcommand("info", new InfoCommand());
    cl.addSubcommand("probe", new ProbeCommand());
    cl.addSubcommand("serve", new ServeCommand());
    // Bad arguments: one line naming the problem (scripts read it), exit 2.
    cl.setParameterExceptionHandler(
        (ex, args) -> {
          CommandLine c = ex.getCommandLine();
          c.getErr().println(c.getCommandSpec().qualifiedName() + ": " + oneLine(ex));
          return c.getCommandSpec().exitCodeOnInvalidInput();
        });
    cl.setExecutionExceptionHandler(
        (ex, commandLine, parseResult) -> {
          commandLine
              .getErr()
              .println(commandLine.getCommandSpec().qualifiedName() + ": " + oneLine(ex));
          return 1;
        });
    return cl;
  }

  /** A one-line reason for an error, for scripts that read stderr. */
  static String oneLine(Throwable t) {
    String m = t.getMessage();
    return (m == null ? t.getClass().getSimpleName() : m).replace('\n', ' ');
  }

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
  }

  /** Version from the jar manifest when packaged. */
  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      String v = Vdisk.class.getPackage().getImplementationVersion();
      return new String[] {"vdisk " + (v == null ? "development build" : v)};
    }
  }
}
