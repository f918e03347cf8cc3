//! Header names → canonical fields: built-in English and Brazilian-Portuguese aliases, matched
//! ignoring case, accents, spaces and punctuation, with `--map field=Header` overrides.

use std::fmt;
use std::str::FromStr;

use unicode_normalization::UnicodeNormalization;

/// A canonical field of an invoice row. The order here is the order of `Field::ALL`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Field {
    OrderId,
    InvoiceNumber,
    Type,
    IssuanceDate,
    InvoiceValue,
    InvoiceKey,
    InvoiceUrl,
    ItemId,
    ItemQuantity,
    ItemPrice,
    ItemDescription,
    Freight,
    Courier,
    TrackingNumber,
    TrackingUrl,
    DispatchedDate,
}

/// How many fields there are; `Mapping` is an array indexed by field.
pub const FIELD_COUNT: usize = 16;

impl Field {
    pub const ALL: [Field; FIELD_COUNT] = [
        Field::OrderId,
        Field::InvoiceNumber,
        Field::Type,
        Field::IssuanceDate,
        Field::InvoiceValue,
        Field::InvoiceKey,
        Field::InvoiceUrl,
        Field::ItemId,
        Field::ItemQuantity,
        Field::ItemPrice,
        Field::ItemDescription,
        Field::Freight,
        Field::Courier,
        Field::TrackingNumber,
        Field::TrackingUrl,
        Field::DispatchedDate,
    ];

    /// The field's canonical name, as used by `--map` and in messages.
    pub fn name(self) -> &'static str {
        match self {
            Field::OrderId => "order_id",
            Field::InvoiceNumber => "invoice_number",
            Field::Type => "type",
            Field::IssuanceDate => "issuance_date",
            Field::InvoiceValue => "invoice_value",
            Field::InvoiceKey => "invoice_key",
            Field::InvoiceUrl => "invoice_url",
            Field::ItemId => "item_id",
            Field::ItemQuantity => "item_quantity",
            Field::ItemPrice => "item_price",
            Field::ItemDescription => "item_description",
            Field::Freight => "freight",
            Field::Courier => "courier",
            Field::TrackingNumber => "tracking_number",
            Field::TrackingUrl => "tracking_url",
            Field::DispatchedDate => "dispatched_date",
        }
    }

    /// Header spellings recognised for this field, English first, then Portuguese as Brazilian ERPs
    /// write them. They are compared after [`normalize_header`], so case, accents, spaces and
    /// punctuation don't matter here.
    pub fn aliases(self) -> &'static [&'static str] {
        match self {
            Field::OrderId => &[
                "order id",
                "order",
                "order number",
                "order no",
                "orderid",
                "vtex order id",
                "pedido",
                "nº do pedido",
                "n do pedido",
                "numero do pedido",
                "número do pedido",
                "numero pedido",
                "id do pedido",
                "id pedido",
                "codigo do pedido",
                "código do pedido",
                "pedido vtex",
                "id pedido vtex",
                "id do pedido vtex",
                "nº pedido",
                "n pedido",
                "num pedido",
                "num. pedido",
            ],
            Field::InvoiceNumber => &[
                "invoice number",
                "invoice no",
                "invoice",
                "invoice num",
                "invoice #",
                "nota fiscal",
                "nf",
                "nfe",
                "nf-e",
                "número da nf",
                "numero da nf",
                "número nf",
                "nº da nf",
                "nº nf",
                "num nf",
                "num. nf",
                "numero nf",
                "nº nota",
                "nº da nota",
                "num nota",
                "número da nota",
                "numero da nota",
                "número da nota fiscal",
                "numero da nota fiscal",
                "nota",
            ],
            Field::Type => &[
                "type",
                "invoice type",
                "tipo",
                "tipo da nota",
                "tipo de nota",
                "tipo nf",
            ],
            Field::IssuanceDate => &[
                "issuance date",
                "issue date",
                "invoice date",
                "issued at",
                "date",
                "data de emissão",
                "data emissão",
                "emissão",
                "data da nota",
                "data da nf",
                "data nf",
                "dt emissão",
                "dt. emissão",
                "dt emissao",
                "data",
            ],
            Field::InvoiceValue => &[
                "invoice value",
                "invoice total",
                "invoice amount",
                "total",
                "total value",
                "valor da nota",
                "valor nota",
                "valor total",
                "valor da nf",
                "valor nf",
                "valor total da nota",
                "total da nota",
                "valor",
            ],
            Field::InvoiceKey => &[
                "invoice key",
                "access key",
                "chave de acesso",
                "chave",
                "chave da nf",
                "chave nfe",
                "chave da nota",
                "chave de acesso da nfe",
            ],
            Field::InvoiceUrl => &[
                "invoice url",
                "invoice link",
                "url da nota",
                "url nota",
                "url da nf",
                "link da nota",
                "link nf",
            ],
            Field::ItemId => &[
                "item id",
                "sku",
                "sku id",
                "item",
                "stock code",
                "product id",
                "id sku",
                "id do sku",
                "código do sku",
                "codigo sku",
                "código do produto",
                "codigo produto",
                "id do item",
                "código do item",
                "cód produto",
                "cód. produto",
                "cod produto",
                "código produto",
                "cód item",
                "cod item",
                "cód sku",
            ],
            Field::ItemQuantity => &[
                "quantity",
                "qty",
                "item quantity",
                "quantidade",
                "qtd",
                "qtde",
                "quant",
            ],
            Field::ItemPrice => &[
                "unit price",
                "item price",
                "price",
                "preço unitário",
                "preco unitario",
                "preço",
                "valor unitário",
                "valor unitario",
                "vl unitário",
                "vlr unitário",
                "preço unit",
            ],
            Field::ItemDescription => &[
                "description",
                "item description",
                "product name",
                "descrição",
                "descrição do item",
                "descrição do produto",
                "produto",
                "nome do produto",
            ],
            Field::Freight => &[
                "freight",
                "shipping",
                "freight value",
                "shipping cost",
                "frete",
                "valor do frete",
                "valor frete",
            ],
            Field::Courier => &["courier", "carrier", "shipping company", "transportadora"],
            Field::TrackingNumber => &[
                "tracking number",
                "tracking",
                "tracking code",
                "código de rastreio",
                "codigo de rastreio",
                "rastreio",
                "código de rastreamento",
                "rastreamento",
            ],
            Field::TrackingUrl => &[
                "tracking url",
                "tracking link",
                "url de rastreio",
                "url rastreio",
                "link de rastreio",
                "link rastreio",
                "url de rastreamento",
            ],
            Field::DispatchedDate => &[
                "dispatched date",
                "dispatch date",
                "shipped date",
                "ship date",
                "shipping date",
                "data de envio",
                "data envio",
                "data de despacho",
                "data de expedição",
                "data expedição",
            ],
        }
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Field {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = normalize_header(s);
        Field::ALL
            .into_iter()
            .find(|field| normalize_header(field.name()) == wanted)
            .ok_or_else(|| {
                let names: Vec<&str> = Field::ALL.iter().map(|f| f.name()).collect();
                format!("unknown field '{s}'; fields are: {}", names.join(", "))
            })
    }
}

/// A `--map field=Header` override.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Override {
    pub field: Field,
    pub header: String,
}

impl FromStr for Override {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (field, header) = s
            .split_once('=')
            .ok_or_else(|| format!("'{s}' is not of the form field=Header"))?;
        let header = header.trim();
        if header.is_empty() {
            return Err(format!("'{s}' names no header after '='"));
        }
        Ok(Override {
            field: field.trim().parse()?,
            header: header.to_string(),
        })
    }
}

/// Lower-cases, strips accents (NFKD, so `º` becomes `o`), and keeps only letters and digits:
/// "Nº do Pedido" and "n_do_pedido" both become "nodopedido".
pub fn normalize_header(header: &str) -> String {
    header
        .nfkd()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// Which column feeds each field. One column may feed several fields.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Mapping {
    columns: [Option<usize>; FIELD_COUNT],
    /// Headers that feed no field, for `-v`.
    pub ignored: Vec<String>,
    /// The `--map`s this input has no column for, passed over because the run has other inputs
    /// that may ([`map_columns`]).
    pub passed_over: Vec<Override>,
    /// Columns that feed no field and hold an amount an invoice's total takes in beside its
    /// items and freight (a discount, IPI, insurance: [`names_an_adjustment`]): a value
    /// computed would leave them out.
    pub adjustments: Vec<usize>,
}

impl Mapping {
    pub fn column(&self, field: Field) -> Option<usize> {
        self.columns[field as usize]
    }

    pub fn has(&self, field: Field) -> bool {
        self.column(field).is_some()
    }

    /// Mapped fields with their column index, in field order.
    pub fn fields(&self) -> impl Iterator<Item = (Field, usize)> + '_ {
        Field::ALL
            .into_iter()
            .filter_map(|f| self.column(f).map(|c| (f, c)))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MappingError {
    #[error("{}", missing_message(.missing, .headers))]
    Missing {
        missing: Vec<Field>,
        headers: Vec<String>,
    },
    #[error(
        "--map {field}={header}: there is no column '{header}'; headers found: {}",
        quoted(.headers)
    )]
    NoSuchHeader {
        field: Field,
        header: String,
        headers: Vec<String>,
    },
    #[error("{}", ambiguous_message(*.field, .columns))]
    Ambiguous {
        field: Field,
        /// Each column's sheet index (0-based) and header; two or more.
        columns: Vec<(usize, String)>,
    },
}

/// The 0-based sheet column a `--map field=#N` names: `#7` (counting from 1) or `#G` (the
/// spreadsheet's letters), as the spreadsheet numbers its columns.
fn column_ref(header: &str) -> Option<usize> {
    let place = header.strip_prefix('#')?;
    if let Ok(n) = place.parse::<usize>() {
        return n.checked_sub(1);
    }
    if place.is_empty() || place.len() > 3 || !place.bytes().all(|b| b.is_ascii_alphabetic()) {
        return None;
    }
    let n = place.bytes().fold(0usize, |n, b| {
        n * 26 + usize::from(b.to_ascii_uppercase() - b'A') + 1
    });
    Some(n - 1)
}

/// The spreadsheet's letters for 0-based column `col`: 0 is A, 26 is AA.
fn column_letters(col: usize) -> String {
    let mut n = col + 1;
    let mut letters = Vec::new();
    while n > 0 {
        let rem = (n - 1) % 26;
        letters.push(b'A' + rem as u8);
        n = (n - 1) / 26;
    }
    letters.iter().rev().map(|&b| char::from(b)).collect()
}

fn ambiguous_message(field: Field, columns: &[(usize, String)]) -> String {
    let name = columns.first().map_or("", |(_, h)| h.trim());
    let all = if columns.len() == 2 { "both" } else { "all" };
    if columns.iter().all(|(_, h)| h.trim() == name) {
        // `--map field=HEADER` can't tell columns of one name apart; their places can.
        let letters: Vec<String> = columns.iter().map(|(c, _)| column_letters(*c)).collect();
        let places: Vec<String> = columns.iter().map(|(c, _)| format!("#{}", c + 1)).collect();
        let maps: Vec<String> = places
            .iter()
            .map(|p| format!("--map {field}={p}"))
            .collect();
        return format!(
            "columns {} ({}) are {all} named '{name}' and look like {field}; say which with {} \
             (the column's number counting from 1, or its letter)",
            and_list(&letters),
            and_list(&places),
            or_list(&maps),
        );
    }
    let quoted: Vec<String> = columns.iter().map(|(_, h)| format!("'{h}'")).collect();
    format!(
        "columns {} {all} look like {field}; say which with --map {field}=HEADER",
        and_list(&quoted)
    )
}

/// "a, b and c".
fn and_list(items: &[String]) -> String {
    joined(items, "and")
}

/// "a, b or c".
fn or_list(items: &[String]) -> String {
    joined(items, "or")
}

fn joined(items: &[String], last: &str) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., tail] => format!("{} {last} {tail}", init.join(", ")),
    }
}

/// The field `cell` is named like (one of its aliases; no alias is two fields').
fn field_named(cell: &str) -> Option<Field> {
    let n = normalize_header(cell);
    if n.is_empty() {
        return None;
    }
    Field::ALL
        .into_iter()
        .find(|f| f.aliases().iter().any(|a| normalize_header(a) == n))
}

/// Whether `cell` is named like a field (an alias of one).
pub fn is_field_name(cell: &str) -> bool {
    field_named(cell).is_some()
}

/// How many of `cells` are named like a field (an alias of one): how much a row looks like a
/// header, to say which row was probably meant when none maps.
pub fn header_likeness(cells: &[String]) -> usize {
    cells.iter().filter(|c| is_field_name(c)).count()
}

/// `'a', 'b'`: names (headers, sheets) as messages quote them.
pub fn quoted(headers: &[String]) -> String {
    headers
        .iter()
        .map(|h| format!("'{h}'"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn missing_message(missing: &[Field], headers: &[String]) -> String {
    let mut parts = Vec::new();
    for field in missing {
        let mut part = format!("no column for required field {field}");
        let close = closest_headers(*field, headers);
        if !close.is_empty() {
            part.push_str(&format!(" (closest headers: {})", quoted(&close)));
        }
        part.push_str(&format!(
            "; use --map {field}=HEADER, or name the column like '{}'",
            field.aliases()[0]
        ));
        parts.push(part);
    }
    format!("{}. Headers found: {}", parts.join("; "), quoted(headers))
}

/// Whether `header` names a line's total (quantity × unit price) rather than a unit price:
/// "Valor Total Item", "Preço Total", "Subtotal", "Valor do Item", "Line Amount". Such a column
/// mapped to `item_price` would book every line's total as its unit price.
pub fn names_a_line_total(header: &str) -> bool {
    const LINE_VALUES: [&str; 22] = [
        "valordoitem",
        "valoritem",
        "vlitem",
        "vlritem",
        "valordalinha",
        "valorlinha",
        "lineamount",
        "linevalue",
        "amount",
        "itemamount",
        "itemvalue",
        "extendedprice",
        "vprod",
        "valorbruto",
        "valorliquido",
        "valormercadoria",
        "vlrmercadoria",
        "valordamercadoria",
        "valorproduto",
        "valordoproduto",
        "vlproduto",
        "vlrproduto",
    ];
    let n = normalize_header(header);
    n.contains("total") || LINE_VALUES.contains(&n.as_str())
}

/// Whether a header names an amount an invoice's total takes in beside its items and freight:
/// a discount, an addition, a tax added on top (IPI, ICMS-ST, FCP-ST, sales tax), insurance,
/// other costs. Not a discount's code, name or kind, not a rate (`%`, Alíquota) or a tax's
/// base, not an amount withheld, not a price before the discount, and not ICMS alone, which
/// Brazilian prices already hold.
fn names_an_adjustment(header: &str, normalized: &str) -> bool {
    const PARTS: [&str; 20] = [
        "desconto",
        "discount",
        "abatimento",
        "acresc",
        "surcharge",
        "outrasdesp",
        "despesasacessorias",
        "despacessorias",
        "othercharges",
        "othercosts",
        "otherexpenses",
        "seguro",
        "insurance",
        "icmsst",
        "fcpst",
        "substituicaotributaria",
        "salestax",
        "taxamount",
        "vatamount",
        "linetax",
    ];
    // Whole, once words such as "Valor do", "Vlr.", "Total" before and "Total", "Amount",
    // "(R$)" after are taken off.
    const WHOLE: [&str; 8] = ["ipi", "st", "tax", "taxes", "vat", "desc", "desp", "acresc"];
    const BEFORE: [&str; 16] = [
        "valordo", "valorda", "valorde", "valor", "vlrdo", "vlr", "vl", "v", "totalde", "totaldo",
        "total", "line", "item", "do", "da", "de",
    ];
    const AFTER: [&str; 8] = ["total", "amount", "value", "valor", "brl", "rs", "r", "s"];
    const NOT: [&str; 22] = [
        "code",
        "codigo",
        "name",
        "nome",
        "descricao",
        "description",
        "tipo",
        "type",
        "motivo",
        "reason",
        "base",
        "aliquota",
        "rate",
        "percent",
        "retido",
        "withheld",
        "semdesconto",
        "withoutdiscount",
        "beforediscount",
        "antesdodesconto",
        "apolice",
        "policy",
    ];
    // A coupon's own column (its code): "Cupom de Desconto", "Discount Coupon".
    let a_coupon = normalized.starts_with("cupom") || normalized.ends_with("coupon");
    if header.contains('%') || a_coupon || NOT.iter().any(|p| normalized.contains(p)) {
        return false;
    }
    if PARTS.iter().any(|p| normalized.contains(p)) {
        return true;
    }
    let mut core = normalized;
    for _ in 0..6 {
        if WHOLE.contains(&core) {
            return true;
        }
        let next = AFTER
            .iter()
            .find_map(|s| core.strip_suffix(s))
            .or_else(|| BEFORE.iter().find_map(|p| core.strip_prefix(p)))
            .filter(|rest| !rest.is_empty());
        match next {
            Some(rest) => core = rest,
            None => break,
        }
    }
    false
}

/// Whether a normalized header names a product's code without saying it is the SKU, as an
/// ERP's report does beside an `Item` column that numbers its lines: "Código", "Cód.", "Code",
/// "Product Code", "Referência", "Ref.", "EAN", "GTIN".
fn names_a_product_code(normalized: &str) -> bool {
    const CODES: [&str; 12] = [
        "codigo",
        "cod",
        "code",
        "productcode",
        "itemcode",
        "referencia",
        "ref",
        "reference",
        "ean",
        "gtin",
        "codigoean",
        "codigodebarras",
    ];
    CODES.contains(&normalized)
}

/// Whether `header` names an order's id of some kind: "Pedido Marketplace", "ID Pedido Loja",
/// "Nro. Pedido E-commerce", "Pedido Mercado Livre", "Marketplace Order ID"; not "Data do
/// Pedido", "Cliente do Pedido", "Order Status" or "order_item_id", which name something else
/// of the order. In Portuguese the order word comes first, or after what number of it it is
/// ("Nº do Pedido"), then whose order; in English, whose order, the order word, then an id word.
fn names_an_order_id(header: &str) -> bool {
    const ORDER: [&str; 4] = ["pedido", "order", "orderid", "idpedido"];
    const NUMBER_OF: [&str; 12] = [
        "id", "n", "no", "num", "numero", "nr", "nro", "cod", "codigo", "de", "do", "da",
    ];
    const ID: [&str; 9] = ["id", "n", "no", "num", "number", "nr", "nro", "code", "ref"];
    const WHOSE: [&str; 46] = [
        "vtex",
        "marketplace",
        "mktplace",
        "mkt",
        "mkp",
        "loja",
        "store",
        "site",
        "externo",
        "external",
        "cliente",
        "customer",
        "seller",
        "ecommerce",
        "e",
        "commerce",
        "plataforma",
        "platform",
        "erp",
        "interno",
        "internal",
        "original",
        "canal",
        "channel",
        "mercado",
        "livre",
        "mercadolivre",
        "ml",
        "b2w",
        "americanas",
        "magalu",
        "magazine",
        "luiza",
        "shopee",
        "amazon",
        "netshoes",
        "via",
        "carrefour",
        "shein",
        "aliexpress",
        "web",
        "online",
        "parceiro",
        "partner",
        "hub",
        "integracao",
    ];
    let words: Vec<String> = header
        .nfkd()
        .flat_map(char::to_lowercase)
        .collect::<String>()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(String::from)
        .collect();
    let Some(at) = words.iter().position(|w| ORDER.contains(&w.as_str())) else {
        return false;
    };
    let (before, after) = (&words[..at], &words[at + 1..]);
    let all_in = |words: &[String], lists: &[&[&str]]| {
        words
            .iter()
            .all(|w| lists.iter().any(|list| list.contains(&w.as_str())))
    };
    let portuguese = all_in(before, &[&NUMBER_OF]) && all_in(after, &[&WHOSE, &ID]);
    let english = !after.is_empty() && all_in(before, &[&WHOSE]) && all_in(after, &[&ID]);
    portuguese || english
}

/// Up to three headers nearest to any alias of `field`, nearest first, within a useful distance.
/// A line total is never offered as the unit price ([`names_a_line_total`]).
fn closest_headers(field: Field, headers: &[String]) -> Vec<String> {
    let mut scored: Vec<(f64, &String)> = headers
        .iter()
        .filter(|h| field != Field::ItemPrice || !names_a_line_total(h))
        // A header another field's name maps (`Valor da Nota`) is that field's column.
        .filter(|h| field_named(h).is_none_or(|named| named == field))
        .filter_map(|h| {
            let norm = normalize_header(h);
            let best = field
                .aliases()
                .iter()
                .map(|a| strsim::normalized_levenshtein(&norm, &normalize_header(a)))
                .fold(0.0_f64, f64::max);
            (best >= 0.5).then_some((best, h))
        })
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0));
    scored.into_iter().take(3).map(|(_, h)| h.clone()).collect()
}

/// Maps `headers` to fields. Overrides win; then each header is matched against the aliases. A
/// field two headers claim is an error (unless overridden), as is a required field no header
/// claims.
pub fn map_headers(
    headers: &[String],
    overrides: &[Override],
    required: &[Field],
) -> Result<Mapping, MappingError> {
    let columns = Columns {
        headers,
        first_column: 0,
    };
    map_columns(columns, overrides, required, false)
}

/// A header row as a sheet holds it.
#[derive(Debug, Clone, Copy)]
pub struct Columns<'a> {
    pub headers: &'a [String],
    /// The sheet column (0-based) of the first header: a workbook table may start in column C,
    /// and `--map field=#N` and the messages number the columns as the spreadsheet does.
    pub first_column: usize,
}

/// [`map_headers`] for a header row that may not start in column A; with `several` inputs in
/// the run, a `--map` for a column these headers lack is passed over (and recorded in
/// [`Mapping::passed_over`]) unless its field is required here: another input may have it.
pub fn map_columns(
    Columns {
        headers,
        first_column,
    }: Columns<'_>,
    overrides: &[Override],
    required: &[Field],
    several: bool,
) -> Result<Mapping, MappingError> {
    let normalized: Vec<String> = headers.iter().map(|h| normalize_header(h)).collect();
    let named = headers.iter().filter(|h| !h.trim().is_empty()).count();
    let mut mapping = Mapping::default();
    let mut used = vec![false; headers.len()];
    let ambiguous = |field, cols: &[usize]| MappingError::Ambiguous {
        field,
        columns: cols
            .iter()
            .map(|&c| (first_column + c, headers[c].clone()))
            .collect(),
    };

    for o in overrides {
        let wanted = normalize_header(&o.header);
        // An exact (trimmed) match first, so two headers that normalise alike can still be told
        // apart; then a column by its place (`#7`, `#G`); then a header that normalises alike.
        // A name two columns share is no answer: it would silently take the first.
        let exact: Vec<usize> = (0..headers.len())
            .filter(|&c| headers[c].trim() == o.header)
            .collect();
        let alike: Vec<usize> = (0..headers.len())
            .filter(|&c| !wanted.is_empty() && normalized[c] == wanted)
            .collect();
        // An unnamed column is what `#N` is for, in a header; a title row (one cell of text)
        // is no header, whatever `#N` points into.
        let by_place = column_ref(&o.header)
            .and_then(|c| c.checked_sub(first_column))
            .filter(|&c| {
                headers
                    .get(c)
                    .is_some_and(|h| named > 1 || !h.trim().is_empty())
            });
        let col = match (exact.as_slice(), by_place, alike.as_slice()) {
            ([col], _, _) => *col,
            ([_, _, ..], _, _) => return Err(ambiguous(o.field, &exact)),
            ([], Some(col), _) => col,
            ([], None, [col]) => *col,
            ([], None, [_, _, ..]) => return Err(ambiguous(o.field, &alike)),
            ([], None, []) if several && !required.contains(&o.field) => {
                mapping.passed_over.push(o.clone());
                continue;
            }
            ([], None, []) => {
                return Err(MappingError::NoSuchHeader {
                    field: o.field,
                    header: o.header.clone(),
                    headers: headers.to_vec(),
                });
            }
        };
        mapping.columns[o.field as usize] = Some(col);
        used[col] = true;
    }

    for field in Field::ALL {
        // A field `--map` names is where it says, or (passed over) in another input.
        if mapping.has(field) || mapping.passed_over.iter().any(|o| o.field == field) {
            continue;
        }
        let aliases: Vec<String> = field
            .aliases()
            .iter()
            .map(|a| normalize_header(a))
            .collect();
        let mut found: Vec<usize> = (0..normalized.len())
            .filter(|&c| !normalized[c].is_empty() && aliases.contains(&normalized[c]))
            .collect();
        // A header beside a rival of its own (by its header, and normalized): which column
        // is the field's is the user's to say. `Pedido` beside `Pedido Marketplace` or `ID
        // Pedido Loja` (bug: the first was taken, and every request was a 404); `Item` beside
        // `Código`, as a DANFE-style report numbers its lines under `Item` (1, 2, 3) and gives
        // the product's code beside it (found by a review: every item went out as SKU 1, 2, 3).
        let rival: Option<fn(&str, &str) -> bool> = match field {
            Field::OrderId => Some(|header, _| names_an_order_id(header)),
            Field::ItemId if found.iter().all(|&c| normalized[c] == "item") => {
                Some(|_, normalized| names_a_product_code(normalized))
            }
            _ => None,
        };
        if let Some(rival) = rival
            && !found.is_empty()
        {
            let others: Vec<usize> = (0..headers.len())
                .filter(|&c| !used[c] && !found.contains(&c) && rival(&headers[c], &normalized[c]))
                .collect();
            found.extend(others);
            found.sort_unstable();
        }
        match found[..] {
            [] => {}
            [col] => {
                mapping.columns[field as usize] = Some(col);
                used[col] = true;
            }
            _ => return Err(ambiguous(field, &found)),
        }
    }

    let missing: Vec<Field> = required
        .iter()
        .copied()
        .filter(|f| !mapping.has(*f))
        .collect();
    if !missing.is_empty() {
        return Err(MappingError::Missing {
            missing,
            headers: headers.to_vec(),
        });
    }
    mapping.ignored = headers
        .iter()
        .zip(&used)
        .filter(|(_, used)| !**used)
        .map(|(h, _)| h.clone())
        .collect();
    // Found by a review: a Desconto column was ignored, and the invoice computed without an
    // invoice value was sent at its items' total, above the file's own.
    mapping.adjustments = (0..headers.len())
        .filter(|&c| !used[c] && names_an_adjustment(&headers[c], &normalized[c]))
        .collect();
    Ok(mapping)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    /// Found by a review: a Desconto column was ignored, and an invoice whose value was
    /// computed went out above the file's own total.
    #[test]
    fn adjustment_columns() {
        for yes in [
            "Desconto",
            "Vlr. Desconto",
            "Desconto (R$)",
            "Discount",
            "IPI",
            "Valor do IPI",
            "ICMS ST",
            "Seguro",
            "Outras Despesas",
            "Tax",
            "Tax (R$)",
            "Vlr IPI",
            "Total Tax",
            "Acréscimo",
            // Found by a review of the first list.
            "Desc.",
            "Vlr. Desc.",
            "Outras Desp.",
            "Desp. Acessórias",
            "Acresc.",
            "Valor Total IPI",
            "V.IPI",
            "Valor FCP ST",
            "VAT Amount",
            "Line Tax",
            "Desconto Cupom",
            "Coupon Discount",
        ] {
            assert!(names_an_adjustment(yes, &normalize_header(yes)), "{yes}");
        }
        for no in [
            "ICMS",
            "Discount Code",
            "Cupom de Desconto",
            "Status",
            "Estado",
            "Stock",
            "Taxa de Câmbio",
            "Valor",
            "Total",
            // Found by a review of the first list.
            "Preço sem Desconto",
            "Subtotal sem Desconto",
            "Valor ICMS ST Retido",
            "Descrição do Desconto",
            "Apólice Seguro",
            "Base ICMS ST",
            "Alíquota ICMS ST",
            "% IPI",
            "Desconto (%)",
            "Discount Coupon",
            "Tipo de Desconto",
            "Vendedor",
            "Desconto Rate",
        ] {
            assert!(!names_an_adjustment(no, &normalize_header(no)), "{no}");
        }
        let h = headers(&["Pedido", "NF", "SKU", "Qtde", "Preço", "Desconto", "Frete"]);
        assert_eq!(map_headers(&h, &[], &[]).unwrap().adjustments, vec![5]);
        let h = headers(&["Pedido", "NF", "SKU", "Desconto", "Valor da Nota"]);
        assert_eq!(map_headers(&h, &[], &[]).unwrap().adjustments, vec![3]);
    }

    /// Found by a review: `Item` numbering a report's lines beside `Código` was taken as the
    /// SKU, and every item went out as SKU 1, 2, 3.
    #[test]
    fn item_beside_a_product_code_is_the_user_s_to_say() {
        let h = headers(&[
            "Pedido",
            "NF",
            "Data",
            "Item",
            "Código",
            "Qtde",
            "Preço Unitário",
        ]);
        let err = map_headers(&h, &[], &[Field::ItemId]).unwrap_err();
        let message = err.to_string();
        assert!(
            message.contains("'Item'") && message.contains("'Código'"),
            "{message}"
        );
        // Said with --map, it is read.
        let o = Override {
            field: Field::ItemId,
            header: "Código".into(),
        };
        let m = map_headers(&h, &[o], &[Field::ItemId]).unwrap();
        assert_eq!(m.column(Field::ItemId), Some(4));
        // `Item` alone, or beside a SKU, is as before.
        let h = headers(&["Pedido", "Item", "Qtde"]);
        assert_eq!(
            map_headers(&h, &[], &[]).unwrap().column(Field::ItemId),
            Some(1)
        );
        let h = headers(&["Pedido", "Item", "SKU", "Código"]);
        assert!(map_headers(&h, &[], &[]).is_err());
        // No `Item` at all: `Código` alone is no item id.
        let h = headers(&["Pedido", "Código", "Qtde"]);
        assert_eq!(
            map_headers(&h, &[], &[]).unwrap().column(Field::ItemId),
            None
        );
    }

    #[test]
    fn normalizes_case_accents_and_punctuation() {
        assert_eq!(normalize_header("Nº do Pedido"), "nodopedido");
        assert_eq!(normalize_header("  Preço  Unitário "), "precounitario");
        assert_eq!(normalize_header("invoice_number"), "invoicenumber");
        assert_eq!(normalize_header("DATA DE EMISSÃO"), "datadeemissao");
    }

    #[test]
    fn maps_english_and_portuguese_headers() {
        let h = headers(&[
            "Pedido",
            "Número da NF",
            "Data de Emissão",
            "SKU",
            "Quantidade",
            "Preço Unitário",
            "Valor da Nota",
            "Frete",
            "Chave de Acesso",
            "Observação",
        ]);
        let m = map_headers(&h, &[], &[Field::OrderId, Field::InvoiceNumber]).unwrap();
        assert_eq!(m.column(Field::OrderId), Some(0));
        assert_eq!(m.column(Field::InvoiceNumber), Some(1));
        assert_eq!(m.column(Field::IssuanceDate), Some(2));
        assert_eq!(m.column(Field::ItemId), Some(3));
        assert_eq!(m.column(Field::ItemQuantity), Some(4));
        assert_eq!(m.column(Field::ItemPrice), Some(5));
        assert_eq!(m.column(Field::InvoiceValue), Some(6));
        assert_eq!(m.column(Field::Freight), Some(7));
        assert_eq!(m.column(Field::InvoiceKey), Some(8));
        assert_eq!(m.ignored, vec!["Observação".to_string()]);

        let h = headers(&[
            "Order ID",
            "Invoice Number",
            "Issuance Date",
            "Item ID",
            "Quantity",
            "Unit Price",
            "Invoice Value",
        ]);
        let m = map_headers(&h, &[], &[Field::OrderId]).unwrap();
        assert_eq!(m.column(Field::ItemPrice), Some(5));
        assert!(m.ignored.is_empty());
    }

    #[test]
    fn every_alias_maps_back_to_its_field() {
        for field in Field::ALL {
            for alias in field.aliases() {
                let m = map_headers(&headers(&[alias]), &[], &[]).unwrap();
                assert_eq!(m.column(field), Some(0), "alias '{alias}' of {field}");
            }
        }
    }

    #[test]
    fn no_alias_is_claimed_by_two_fields() {
        let mut seen = std::collections::HashMap::new();
        for field in Field::ALL {
            for alias in field.aliases() {
                if let Some(other) = seen.insert(normalize_header(alias), field) {
                    assert_eq!(other, field, "alias '{alias}' claimed twice");
                }
            }
        }
    }

    #[test]
    fn override_wins_and_one_column_may_feed_two_fields() {
        let h = headers(&["Ref", "SKU", "Qty", "Price"]);
        let overrides = vec![
            "order_id=Ref".parse::<Override>().unwrap(),
            "invoice_number=Ref".parse().unwrap(),
        ];
        let m = map_headers(&h, &overrides, &[Field::OrderId, Field::InvoiceNumber]).unwrap();
        assert_eq!(m.column(Field::OrderId), Some(0));
        assert_eq!(m.column(Field::InvoiceNumber), Some(0));
    }

    #[test]
    fn an_order_id_beside_another_order_s_id_is_for_the_user_to_choose() {
        for other in [
            "Pedido Marketplace",
            "ID Pedido VTEX",
            "Pedido Loja",
            "Nº Pedido Cliente",
            "Nro. Pedido Marketplace",
            "Pedido E-commerce",
            "Pedido Mercado Livre",
            "Marketplace Order ID",
        ] {
            let h = headers(&["Pedido", other, "NF"]);
            let err = map_headers(&h, &[], &[]).unwrap_err();
            assert!(
                matches!(&err, MappingError::Ambiguous { field: Field::OrderId, columns }
                    if columns.len() == 2),
                "{other}: {err}"
            );
            let chosen = format!("order_id={other}").parse::<Override>().unwrap();
            let m = map_headers(&h, &[chosen], &[]).unwrap();
            assert_eq!(m.column(Field::OrderId), Some(1), "{other}");
        }
        // What else a file says of its orders is no order id.
        let h = headers(&[
            "Order ID",
            "Order Date",
            "order_item_id",
            "Status do Pedido",
            "Valor do Pedido",
            "Cliente do Pedido",
            "Loja do Pedido",
            "Canal do Pedido",
            "Seller do Pedido",
            "Canal",
            "order_purchase_timestamp",
            "Invoice Number",
        ]);
        let m = map_headers(&h, &[], &[]).unwrap();
        assert_eq!(m.column(Field::OrderId), Some(0));
        // Nor is a column --map gives another field.
        let h = headers(&["Pedido", "Pedido Loja"]);
        let number = "invoice_number=Pedido Loja".parse::<Override>().unwrap();
        let m = map_headers(&h, &[number], &[]).unwrap();
        assert_eq!(m.column(Field::OrderId), Some(0));
    }

    #[test]
    fn erp_abbreviations_are_known() {
        let h = headers(&[
            "Nº Pedido",
            "Num. NF",
            "Dt. Emissão",
            "Cód. Produto",
            "Produto",
        ]);
        let m = map_headers(&h, &[], &[]).unwrap();
        assert_eq!(m.column(Field::OrderId), Some(0));
        assert_eq!(m.column(Field::InvoiceNumber), Some(1));
        assert_eq!(m.column(Field::IssuanceDate), Some(2));
        assert_eq!(m.column(Field::ItemId), Some(3));
        assert_eq!(m.column(Field::ItemDescription), Some(4));
    }

    #[test]
    fn a_line_total_is_never_offered_as_the_unit_price() {
        let h = headers(&["Pedido", "NF", "Data", "SKU", "Qtd", "Valor Total Item"]);
        let err = map_headers(&h, &[], &[Field::ItemPrice]).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("no column for required field item_price"),
            "{msg}"
        );
        assert!(
            !msg.contains("closest headers: 'Valor Total Item'"),
            "{msg}"
        );
        let h = headers(&[
            "Pedido",
            "NF",
            "SKU",
            "Qtd",
            "Valor da Nota",
            "Extended Price",
        ]);
        let msg = map_headers(&h, &[], &[Field::ItemPrice])
            .unwrap_err()
            .to_string();
        assert!(!msg.contains("closest headers"), "{msg}");
        for header in [
            "Preço Total",
            "Valor do Item",
            "SUBTOTAL",
            "Line Amount",
            "Total",
            "vProd",
            "Vlr. Mercadoria",
            "Valor Bruto",
        ] {
            assert!(names_a_line_total(header), "{header}");
        }
        for header in [
            "Preço Unitário",
            "Valor Unitário",
            "Unit Price",
            "Preço",
            "Valor",
        ] {
            assert!(!names_a_line_total(header), "{header}");
        }
    }

    #[test]
    fn missing_required_column_lists_headers_and_closest() {
        let h = headers(&["Pedidos", "Invoice Nmber", "SKU"]);
        let err = map_headers(&h, &[], &[Field::OrderId, Field::InvoiceNumber]).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("no column for required field order_id"),
            "{msg}"
        );
        assert!(msg.contains("'Pedidos'"), "{msg}");
        assert!(msg.contains("closest headers: 'Invoice Nmber'"), "{msg}");
        assert!(
            msg.contains("Headers found: 'Pedidos', 'Invoice Nmber', 'SKU'"),
            "{msg}"
        );
    }

    #[test]
    fn two_headers_for_one_field_is_an_error_unless_overridden() {
        let h = headers(&["Pedido", "Order ID", "NF"]);
        let err = map_headers(&h, &[], &[]).unwrap_err();
        assert!(
            matches!(
                err,
                MappingError::Ambiguous {
                    field: Field::OrderId,
                    ..
                }
            ),
            "{err}"
        );
        let o = vec!["order_id=Order ID".parse::<Override>().unwrap()];
        let m = map_headers(&h, &o, &[]).unwrap();
        assert_eq!(m.column(Field::OrderId), Some(1));
    }

    #[test]
    fn bad_overrides_are_explained() {
        assert!(
            "order_id"
                .parse::<Override>()
                .unwrap_err()
                .contains("field=Header")
        );
        assert!(
            "nope=X"
                .parse::<Override>()
                .unwrap_err()
                .contains("unknown field 'nope'")
        );
        let err = map_headers(&headers(&["A"]), &["order_id=B".parse().unwrap()], &[]).unwrap_err();
        assert!(err.to_string().contains("there is no column 'B'"));
    }
}
