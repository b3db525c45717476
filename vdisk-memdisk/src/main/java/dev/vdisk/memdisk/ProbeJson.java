package dev.vdisk.memdisk;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;

/**
 * JSON form of a {@link ProbeResult}: one document whose {@code disks} array carries {@code kind},
 * {@code address}, {@code size}, {@code sectorSize}, {@code cylinders}, {@code heads}, {@code
 * sectors}, {@code readOnly}, {@code cdrom} (numbers are bytes and plain JSON numbers), plus {@code
 * hooks}, {@code memdisks}, {@code grub4dos}, {@code rejected} (subject, address, reason) and
 * {@code warnings}.
 */
public final class ProbeJson {
  private static final ObjectMapper MAPPER =
      new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  private ProbeJson() {}

  public static String toJson(ProbeResult result) {
    try {
      return MAPPER.writeValueAsString(result);
    } catch (JsonProcessingException e) {
      // Records of strings, numbers and lists always serialise; this would be a model bug.
      throw new IllegalStateException("cannot serialise probe result: " + e.getMessage(), e);
    }
  }
}
