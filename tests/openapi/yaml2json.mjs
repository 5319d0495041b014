// Prints a YAML file as JSON (the Python tests have no YAML parser): node yaml2json.mjs FILE
import { readFileSync } from 'node:fs';
import yaml from 'js-yaml';

const file = process.argv[2];
if (!file) {
  console.error('usage: node yaml2json.mjs FILE.yaml');
  process.exit(2);
}
process.stdout.write(JSON.stringify(yaml.load(readFileSync(file, 'utf8'), { filename: file })));
