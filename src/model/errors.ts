/** The error a config.json we cannot reproduce exactly is refused with (naming the field). */
export class ConfigError extends Error {
  override name = 'ConfigError';
}
