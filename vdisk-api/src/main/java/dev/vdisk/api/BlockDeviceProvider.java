package dev.vdisk.api;

import java.io.IOException;
import java.net.URI;
import java.util.Set;

/**
 * Opens disks named by URI for one or more schemes ({@code file}, {@code ram}, {@code nbd}, ...).
 * Providers are found with {@link java.util.ServiceLoader}; a module that adds a backend lists its
 * provider in {@code META-INF/services/dev.vdisk.api.BlockDeviceProvider}. {@link BlockDevices}
 * applies the options every backend shares (window, read-only, byte swap) on top of what the
 * provider returns, so providers only honour the options that change how they open the disk.
 */
public interface BlockDeviceProvider {

  /** URI schemes this provider opens, lower case (e.g. {@code "nbd"}, {@code "nbd+unix"}). */
  Set<String> schemes();

  /**
   * Opens the disk. Throws {@link IllegalArgumentException} naming the bad part of a malformed URI,
   * and {@link IOException} when the disk cannot be reached or opened.
   */
  BlockDevice open(URI uri, OpenOptions options) throws IOException;
}
