export { generateCsv, phoneFor, type GeneratedFile } from "../../app/src/demo/sample-contacts";
